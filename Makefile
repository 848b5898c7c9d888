# Shorthands for scripts/dev.py (which needs only Python, so it also works where make is missing).
.PHONY: run test install bench
run:
	python3 scripts/dev.py run
test:
	python3 scripts/dev.py test
install:
	python3 scripts/dev.py install
bench:
	python3 scripts/dev.py bench
