package io.krill.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The module graph of docs/architecture.md, checked on the compiled main classes of every module
 * (the generated API modules included). A rule that fails names the class and the dependency that
 * crossed a layer.
 */
@AnalyzeClasses(packages = "io.krill", importOptions = ImportOption.DoNotIncludeTests.class)
class ModuleGraphTest {
  private static final String[] PROTOCOLS = {
    "io.grpc..",
    "com.google.protobuf..",
    "io.netty..",
    "io.krill.ttrpc..",
    "io.krill.containerd..",
    "io.krill.cri.api.."
  };

  @ArchTest
  static final ArchRule modulesFormNoCycle =
      slices().matching("io.krill.(*)..").should().beFreeOfCycles();

  @ArchTest
  static final ArchRule coreKnowsNoProtocol =
      noClasses()
          .that()
          .resideInAPackage("io.krill.runtime..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(PROTOCOLS)
          .because("protocol types stop at the front doors (shim, cri); the core speaks records");

  @ArchTest
  static final ArchRule coreKnowsNoFrontDoorNorEngine =
      noClasses()
          .that()
          .resideInAPackage("io.krill.runtime..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              "io.krill.shim..",
              "io.krill.cri..",
              "io.krill.cli..",
              "io.krill.daemon..",
              "io.krill.wagi..",
              "io.krill.engine.wasmtime..",
              "io.krill.engine.chicory..",
              "io.github.kawamuray..",
              "com.dylibso..",
              "com.sun.jna..")
          .because(
              "the core gets its engine from the daemon that builds it, and reaches libc through io.krill.os");

  @ArchTest
  static final ArchRule wagiServesTheCoreOnly =
      noClasses()
          .that()
          .resideInAPackage("io.krill.wagi..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              "io.krill.shim..",
              "io.krill.cri..",
              "io.krill.cli..",
              "io.krill.daemon..",
              "io.krill.engine.wasmtime..",
              "io.krill.engine.chicory..",
              "io.krill.ttrpc..",
              "io.krill.containerd..",
              "io.grpc..",
              "com.google.protobuf..")
          .because(
              "the WAGI server speaks HTTP (netty) on the core's RequestServers and the engine SPI;"
                  + " the daemons' composition roots hand it to the core");

  @ArchTest
  static final ArchRule engineSpiStandsAlone =
      noClasses()
          .that()
          .resideInAnyPackage("io.krill.engine", "io.krill.engine.wasm")
          .should()
          .dependOnClassesThat()
          .resideOutsideOfPackages("java..", "io.krill.engine", "io.krill.engine.wasm")
          .because(
              "the engine SPI is what every engine and the core share, and depends on nothing");

  @ArchTest
  static final ArchRule wasiStandsAlone =
      noClasses()
          .that()
          .resideInAPackage("io.krill.wasi..")
          .should()
          .dependOnClassesThat()
          .resideOutsideOfPackages("java..", "io.krill.wasi..")
          .because(
              "krill's WASI is engine-neutral: each engine binds it, and it depends on nothing but the JDK");

  @ArchTest
  static final ArchRule enginesKnowNoCore =
      noClasses()
          .that()
          .resideInAPackage("io.krill.engine..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              "io.krill.runtime..", "io.krill.shim..", "io.krill.cri..", "io.krill.daemon..")
          .because("an engine runs wasm for the core, never the other way round");

  @ArchTest
  static final ArchRule onlyTheWasmtimeEngineUsesTheBinding =
      noClasses()
          .that()
          .resideOutsideOfPackage("io.krill.engine.wasmtime..")
          .should()
          .dependOnClassesThat()
          .resideInAPackage("io.github.kawamuray..");

  @ArchTest
  static final ArchRule onlyTheChicoryEngineUsesChicory =
      noClasses()
          .that()
          .resideOutsideOfPackage("io.krill.engine.chicory..")
          .should()
          .dependOnClassesThat()
          .resideInAPackage("com.dylibso..");

  @ArchTest
  static final ArchRule onlyOsUsesJna =
      noClasses()
          .that()
          .resideOutsideOfPackage("io.krill.os..")
          .should()
          .dependOnClassesThat()
          .resideInAPackage("com.sun.jna..");

  @ArchTest
  static final ArchRule onlyCompositionRootsNameAnEngine =
      noClasses()
          .that()
          .resideOutsideOfPackages("io.krill.engine.wasmtime..", "io.krill.engine.chicory..")
          .and()
          .doNotHaveFullyQualifiedName("io.krill.shim.Daemon")
          .and()
          .doNotHaveFullyQualifiedName("io.krill.cri.CriMain")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage("io.krill.engine.wasmtime..", "io.krill.engine.chicory..")
          .because(
              "the daemons' composition roots choose the engine; everything else speaks the engine SPI");

  @ArchTest
  static final ArchRule wasmtimeKnowsNoOtherEngine =
      noClasses()
          .that()
          .resideInAPackage("io.krill.engine.wasmtime..")
          .should()
          .dependOnClassesThat()
          .resideInAPackage("io.krill.engine.chicory..")
          .because("engines share the SPI, wasi and os, never each other's code");

  @ArchTest
  static final ArchRule chicoryKnowsNoOtherEngine =
      noClasses()
          .that()
          .resideInAPackage("io.krill.engine.chicory..")
          .should()
          .dependOnClassesThat()
          .resideInAPackage("io.krill.engine.wasmtime..")
          .because("engines share the SPI, wasi and os, never each other's code");

  @ArchTest
  static final ArchRule leafModulesStandAlone =
      noClasses()
          .that()
          .resideInAnyPackage(
              "io.krill.ttrpc..", "io.krill.oci..", "io.krill.os..", "io.krill.daemon..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              "io.krill.runtime..",
              "io.krill.engine..",
              "io.krill.shim..",
              "io.krill.cri..",
              "io.krill.cli..",
              "io.krill.containerd..")
          .because("ttrpc, oci, os and daemon-support are libraries the others build on");

  @ArchTest
  static final ArchRule ttrpcKnowsNoContainerd =
      noClasses()
          .that()
          .resideInAPackage("io.krill.ttrpc..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage("io.krill.oci..", "io.krill.os..", "io.krill.daemon..");

  @ArchTest
  static final ArchRule frontDoorsAreIndependent =
      noClasses()
          .that()
          .resideInAPackage("io.krill.shim..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage("io.krill.cri..", "io.krill.cli..");

  @ArchTest
  static final ArchRule criDoesNotReachIntoTheShim =
      noClasses()
          .that()
          .resideInAPackage("io.krill.cri..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              "io.krill.shim..", "io.krill.cli..", "io.krill.ttrpc..", "io.krill.containerd..");

  @ArchTest
  static final ArchRule criPackagesFormNoCycle =
      slices().matching("io.krill.cri.(**)").should().beFreeOfCycles();

  @ArchTest
  static final ArchRule criLayers =
      layeredArchitecture()
          .consideringOnlyDependenciesInAnyPackage("io.krill.cri..")
          .layer("main")
          .definedBy("io.krill.cri")
          .layer("grpc")
          .definedBy("io.krill.cri.grpc..")
          .layer("core")
          .definedBy("io.krill.cri.core..")
          .layer("roles")
          .definedBy("io.krill.cri.container..", "io.krill.cri.pod..", "io.krill.cri.image..")
          .layer("io")
          .definedBy("io.krill.cri.io..")
          .layer("streaming")
          .definedBy("io.krill.cri.streaming..")
          .layer("api")
          .definedBy("io.krill.cri.api..")
          .whereLayer("main")
          .mayNotBeAccessedByAnyLayer()
          .whereLayer("grpc")
          .mayOnlyBeAccessedByLayers("main")
          .whereLayer("core")
          .mayOnlyBeAccessedByLayers("main", "grpc")
          .whereLayer("roles")
          .mayOnlyBeAccessedByLayers("main", "grpc", "core", "roles")
          .whereLayer("io")
          .mayOnlyBeAccessedByLayers("main", "grpc", "core", "roles")
          .whereLayer("streaming")
          .mayOnlyBeAccessedByLayers("main", "grpc", "core", "roles")
          .whereLayer("api")
          .mayOnlyBeAccessedByLayers("grpc")
          .because(
              "cri's gRPC adapters convert protobuf to records; the role packages below know no protocol");
}
