# The two commands of the README are `make demo` and `make test`; both set the machine up first.
.PHONY: setup demo test bench lint

setup:
	@scripts/setup.sh demo

demo: setup
	.venv/bin/citygrid demo

test:
	@scripts/setup.sh test
	.venv/bin/python -m pytest $(PYTEST_ARGS)

bench:
	@scripts/setup.sh bench
	.venv/bin/python -m bench $(BENCH_ARGS)

lint: setup
	.venv/bin/ruff check gis grid census lookup cases onboarding api bench tests scripts
	.venv/bin/mypy
