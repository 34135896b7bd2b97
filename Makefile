# krill: build, test, demo, bench. See README.md.
MVN ?= mvn -B -q
# Tests print Surefire's per-class and summary lines.
MVN_TEST ?= mvn -B --no-transfer-progress
DIST := $(CURDIR)/dist

.PHONY: format format-check dist dist-package build test unit-test fuzz chaos native-test e2e-test demo bench clean deps testprogs critest conformance wasi-conformance

build:
	# copy-dependencies never removes a jar, so a dependency dropped from a pom would linger in dist/lib
	rm -rf shim/target/dist-lib cli/target/dist-lib cri/target/dist-lib
	$(MVN) install -DskipTests
	$(MAKE) -s -C native OUT=$(DIST)/bin
	rm -rf $(DIST)/lib && mkdir -p $(DIST)/lib/native
	cp shim/target/dist-lib/*.jar shim/target/krill-shim-*.jar $(DIST)/lib/
	cp engine-wasmtime/target/native/libwasmtime_jni.so $(DIST)/lib/native/
	# lib/cri, then lib/cli: each command's jar and those of its runtime classpath that lib/ (and lib/cri) does not hold
	# (the enforcer keeps one version of each library, so a jar's file name says whether lib/ has it).
	for m in cri cli; do \
	  mkdir -p $(DIST)/lib/$$m && cp $$m/target/krill-$$m-*.jar $(DIST)/lib/$$m/ && \
	  for j in $$m/target/dist-lib/*.jar; do \
	    [ -e $(DIST)/lib/$$(basename $$j) ] || [ -e $(DIST)/lib/cri/$$(basename $$j) ] || cp $$j $(DIST)/lib/$$m/ || exit 1; \
	  done; \
	done
	install -m 755 packaging/krill.sh $(DIST)/bin/krill

# Release tarball and .deb with a bundled Java runtime (scripts/dist.sh).
dist: build
	$(MAKE) dist-package

dist-package:
	sh scripts/dist.sh

# One style: google-java-format for Java (spotless), clang-format for the launcher (native/.clang-format).
format:
	$(MVN) spotless:apply
	$(MAKE) -s -C native format

format-check:
	$(MVN) spotless:check
	$(MAKE) -s -C native format-check

deps:
	bash scripts/install-deps.sh

testprogs:
	$(MAKE) -s -C integration-tests

# The *-test targets assume `make build` has run; `make test` runs everything in order.
unit-test:
	$(MVN_TEST) test -pl containerd-api,ttrpc,oci,engine,os,wasi,engine-wasmtime,engine-chicory,runtime,wagi,daemon-support,shim,cli,cri,arch-test

# Fuzzing with Jazzer (scripts/fuzz.sh): unit-test replays every target's corpus; this fuzzes each target for
# FUZZ_SECONDS in its own JVM (make test: a few seconds each; alone: five minutes each unless told otherwise).
FUZZ_SECONDS ?= 300
fuzz:
	MVN_TEST="$(MVN_TEST)" FUZZ_SECONDS=$(FUZZ_SECONDS) sh scripts/fuzz.sh

native-test:
	$(MAKE) -s -C native test OUT=$(DIST)/bin

e2e-test: testprogs
	$(MVN_TEST) test -pl integration-tests -DskipITs=false

# The chaos suite alone (integration-tests' io.krill.it.chaos) with its churn CHAOS_SCALE times longer than in
# make test (10: 500 containers on containerd 1.6 and 1.7, 5,000 on 2.1). Assumes make build.
CHAOS_SCALE ?= 10
chaos: testprogs
	$(MVN_TEST) test -pl integration-tests -DskipITs=false -Dtest='io/krill/it/chaos/*E2ETest' -Dkrill.chaos.scale=$(CHAOS_SCALE)

# critest, the CRI validation suite of cri-tools, against krill cri and containerd 1.7/2.1 with the krill runtime
# handler (scripts/critest.sh: builds critest outside the checkout, then writes target/critest/summary.md).
# Needs the cri-tools source: from the Go module proxy, or CRITEST_SRC=<a cri-tools clone>. Not part of make test.
critest: deps build
	bash scripts/critest.sh all

# The WASI preview1 tests of the public wasi-testsuite through krill's WASI on both engines (Wasmtime, Chicory),
# in-process and as containers through ctr and a private containerd 1.7 running dist/'s krill, and on stock
# Wasmtime 7 (scripts/wasi-conformance.sh; docs/conformance.md). Needs root and WASI_TESTSUITE=<a checkout of
# its prod/testsuite-base branch>, which CI cannot fetch. Not part of make test. wasi-conformance: its old name.
conformance: build
	MVN_TEST="$(MVN_TEST)" bash scripts/wasi-conformance.sh

wasi-conformance: conformance

test: deps
	$(MAKE) format-check
	$(MAKE) build
	$(MAKE) unit-test
	$(MAKE) fuzz FUZZ_SECONDS=5
	$(MAKE) native-test
	$(MAKE) dist-package
	$(MAKE) e2e-test

demo: deps build testprogs
	bash scripts/demo.sh

bench: deps dist testprogs
	MVN="$(MVN)" bash scripts/bench.sh

clean:
	$(MVN) clean
	$(MAKE) -s -C native clean OUT=$(DIST)/bin
	rm -rf $(DIST)
