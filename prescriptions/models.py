# The off-label request workflow arrives with the next issue; the app exists now so the
# layout fixed by the design card is complete and its migrations have a home.
