# krill: build, test, demo, bench. See README.md.
MVN ?= mvn -B -q
# Tests print Surefire's per-class and summary lines.
MVN_TEST ?= mvn -B --no-transfer-progress
DIST := $(CURDIR)/dist

.PHONY: dist dist-package build test unit-test native-test e2e-test demo bench clean deps testprogs

build:
	# copy-dependencies never removes a jar, so a dependency dropped from a pom would linger in dist/lib
	rm -rf shim/target/dist-lib cli/target/dist-lib cri/target/dist-lib
	$(MVN) install -DskipTests
	$(MAKE) -s -C native OUT=$(DIST)/bin
	rm -rf $(DIST)/lib && mkdir -p $(DIST)/lib/native
	cp shim/target/dist-lib/*.jar shim/target/krill-shim-*.jar $(DIST)/lib/
	cp runtime/target/native/libwasmtime_jni.so $(DIST)/lib/native/
	# lib/cli and lib/cri: each command's jar and those of its runtime classpath that lib/ does not already hold
	# (the enforcer keeps one version of each library, so a jar's file name says whether lib/ has it).
	for m in cli cri; do \
	  mkdir -p $(DIST)/lib/$$m && cp $$m/target/krill-$$m-*.jar $(DIST)/lib/$$m/ && \
	  for j in $$m/target/dist-lib/*.jar; do \
	    [ -e $(DIST)/lib/$$(basename $$j) ] || cp $$j $(DIST)/lib/$$m/ || exit 1; \
	  done; \
	done
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
	$(MVN_TEST) test -pl containerd-api,ttrpc,oci,runtime,shim,cli,cri

native-test:
	$(MAKE) -s -C native format-check test OUT=$(DIST)/bin

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
