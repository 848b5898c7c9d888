# Shorthands for scripts/dev.py (which needs only Python, so it also works where make is missing).
.PHONY: run test install bench stateful
run:
	python3 scripts/dev.py run
test:
	python3 scripts/dev.py test
install:
	python3 scripts/dev.py install
# make bench BENCH_ARGS=--quick for a smaller run that leaves the README alone.
bench:
	python3 scripts/dev.py bench $(BENCH_ARGS)
# Stateful schemathesis (call sequences over the links it infers); too slow for CI.
stateful:
	OFFLABEL_API_STATEFUL=1 .venv/bin/python -m pytest -p no:randomly tests/test_api_stateful.py
