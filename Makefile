# krill: build, test, demo, bench. See README.md.
MVN ?= mvn -B -q
# Tests print Surefire's per-class and summary lines.
MVN_TEST ?= mvn -B --no-transfer-progress
DIST := $(CURDIR)/dist

.PHONY: dist dist-package build test unit-test native-test e2e-test demo bench clean deps testprogs

build:
	$(MVN) install -DskipTests
	$(MAKE) -s -C native OUT=$(DIST)/bin
	rm -rf $(DIST)/lib && mkdir -p $(DIST)/lib/native
	cp shim/target/dist-lib/*.jar shim/target/krill-shim-*.jar $(DIST)/lib/
	cp engine-wasmtime/target/native/libwasmtime_jni.so $(DIST)/lib/native/
	mkdir -p $(DIST)/lib/cli && cp cli/target/krill-cli-*.jar cli/target/dist-lib/*.jar $(DIST)/lib/cli/
	mkdir -p $(DIST)/lib/cri && cp cri/target/krill-cri-*.jar cri/target/dist-lib/*.jar $(DIST)/lib/cri/
	install -m 755 packaging/krill.sh $(DIST)/bin/krill

# Release tarball and .deb with a bundled Java runtime (scripts/dist.sh).
dist: build
	$(MAKE) dist-package

dist-package:
	sh scripts/dist.sh

deps:
	bash scripts/install-deps.sh

testprogs:
	$(MAKE) -s -C integration-tests

# The *-test targets assume `make build` has run; `make test` runs everything in order.
unit-test:
	$(MVN_TEST) test -pl containerd-api,ttrpc,oci,engine,os,engine-wasmtime,runtime,daemon-support,shim,cli,cri

native-test:
	$(MAKE) -s -C native test OUT=$(DIST)/bin

e2e-test: testprogs
	$(MVN_TEST) test -pl integration-tests -DskipITs=false

test: deps
	$(MAKE) build
	$(MAKE) unit-test
	$(MAKE) native-test
	$(MAKE) dist-package
	$(MAKE) e2e-test

demo: deps build testprogs
	bash scripts/demo.sh

bench: deps build testprogs
	bash scripts/bench.sh

clean:
	$(MVN) clean
	$(MAKE) -s -C native clean OUT=$(DIST)/bin
	rm -rf $(DIST)
