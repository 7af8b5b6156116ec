PYTHON ?= python3
STAMP := .installed

.PHONY: install test demo demo-model

# torch is pinned to 2.13.0 in pyproject.toml: the CPU build; an unpinned torch pulls a CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PYTHON) -m pytest -q

# The main job on the shipped demo model and the example inputs.
demo: $(STAMP)
	@mkdir -p out
	$(PYTHON) -m ilat_video animate examples/reference.png examples/driving.mp4 \
		--reference-pose examples/reference_pose.json --side-by-side -o out/demo.mp4
	@echo "open out/demo.mp4 (reference | driving | result)"

# Retrain the demo model (resumable; see models/demo/README.md).
demo-model: $(STAMP)
	scripts/train_demo.sh runs/demo
