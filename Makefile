# SPDX-License-Identifier: GPL-2.0
#
# Context device bus: build Linux 7.3 with this series and test it under
# QEMU arm64 virt + SMMUv3.  `make help` lists the targets.

SHELL := /bin/bash
H := harness

.PHONY: help setup fetch tree build test test-debug bench run shell matrix robot series series-check docs dt-binding-check refresh-patch new-patch clean distclean

help:
	@echo 'make run            build, boot under QEMU virt+SMMUv3, print the IOMMU groups'
	@echo 'make test           build and run every KUnit suite (make test SUITES="of_iommu*")'
	@echo 'make test-debug     the suites in a KASAN, lockdep, kmemleak, fault-injection kernel (slow)'
	@echo 'make bench          build, run the context bus benchmark, print its tables'
	@echo 'make shell          like run, with an interactive shell'
	@echo 'make setup|fetch|tree|build   the single steps run and test take'
	@echo 'make matrix         build the users as modules, and a kernel without Rust (slow)'
	@echo 'make robot          what build robots check: x86_64, W=1, sparse, coccicheck, Kconfig corners,'
	@echo '                   DT bindings, a C module at run time, series-check (slow; CHECKS="a b")'
	@echo 'make series         write the series as git format-patch files to out/series/ (with cover letter)'
	@echo 'make series-check   git am out/series/ on the pristine base, build and checkpatch each patch (slow)'
	@echo 'make dt-binding-check  dt_binding_check of the bindings the series changes (dt-schema from PyPI)'
	@echo 'make docs           build the htmldocs of Documentation/driver-api and the rustdoc, say where'
	@echo 'make refresh-patch PATCH=patches/x.patch [FILES="a.c"]   carry tree edits back'
	@echo 'make new-patch NAME=subsys-change FILES="a.c b.h"        start a new patch'
	@echo 'make clean          drop build output (out/build, out/run, out/build-debug, out/debug,'
	@echo '                   out/series-check/build, out/docs); distclean: all of out/'

setup:
	@bash $(H)/setup.sh

fetch: setup
	@bash $(H)/fetch.sh

tree: fetch
	@bash $(H)/tree.sh

build: tree
	@source $(H)/lib.sh && say "building (kunit.py build)" && kunit_py build

test: tree
	@bash $(H)/test.sh $(SUITES)

test-debug: tree
	@bash $(H)/test-debug.sh $(SUITES)

bench: tree
	@bash $(H)/bench.sh

run: tree
	@bash $(H)/run.sh

shell: tree
	@bash $(H)/run.sh --shell

matrix: tree
	@bash $(H)/matrix.sh

robot: tree
	@CHECKS="$(CHECKS)" bash $(H)/robot.sh

series: fetch
	@source $(H)/lib.sh && python3 $(H)/series.py "$$REPO" "$$PRISTINE" "$$OUT/series"

series-check: tree
	@bash $(H)/series-check.sh

docs: tree
	@bash $(H)/docs.sh

dt-binding-check: tree
	@bash $(H)/dt-check.sh

refresh-patch:
	@bash $(H)/patch.sh refresh $(PATCH) $(FILES)

new-patch:
	@bash $(H)/patch.sh new $(NAME) $(FILES)

clean:
	@source $(H)/lib.sh && rm -rf "$$BUILD" "$$OUT"/build-debug "$$RUNDIR" "$$OUT"/debug "$$OUT"/*.log \
		"$$OUT"/series-check/build "$$OUT"/docs

distclean:
	@source $(H)/lib.sh && rm -rf "$$OUT"
