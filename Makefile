PYTHON ?= python3

.PHONY: install test demo

# torch is pinned to 2.13.0 in pyproject.toml: the CPU build; an unpinned torch pulls a CUDA build.
install:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e ".[test]"

test:
	$(PYTHON) -m pytest -q

demo:
	ilat-video animate examples/reference.png examples/driving.mp4 --reference-pose examples/reference_pose.json -o out/demo.mp4
