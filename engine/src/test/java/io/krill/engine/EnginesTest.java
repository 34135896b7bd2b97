package io.krill.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class EnginesTest {
  private final List<String> builtNames = new ArrayList<>();
  private final List<String> closedNames = new ArrayList<>();

  private Supplier<WasmEngine> named(String name) {
    return () -> {
      builtNames.add(name);
      return fake(name, null, () -> closedNames.add(name));
    };
  }

  private Engines engines() {
    Map<String, Supplier<WasmEngine>> m = new LinkedHashMap<>();
    m.put("wasmtime", named("wasmtime"));
    m.put("chicory", named("chicory"));
    return new Engines("wasmtime", m);
  }

  @Test
  void select_annotation_picksThatEngine_andBuildsOnlyWhatIsUsed() {
    Engines e = engines();
    assertEquals("chicory", e.select("c1", Map.of(Engines.ANNOTATION, "chicory")).name());
    assertEquals(List.of("chicory"), builtNames);
    assertEquals("wasmtime", e.select("c2", Map.of()).name());
    assertSame(e.select("c3", Map.of()), e.defaultEngine());
    e.close();
    assertEquals(List.of("chicory", "wasmtime"), closedNames);
  }

  @Test
  void select_preferred_inPlaceOfTheDefault_butNeverOverTheAnnotation() {
    Engines e = engines();
    assertEquals("chicory", e.select("c1", Map.of(), "chicory").name());
    assertEquals(
        "wasmtime",
        e.select("c2", Map.of(Engines.ANNOTATION, "wasmtime"), "chicory").name(),
        "the container's annotation wins");
    assertEquals("wasmtime", e.select("c3", Map.of(), "none-such").name(), "an unknown one");
    assertEquals("wasmtime", e.select("c4", Map.of(), null).name());
  }

  private static WasmEngine refusing(String name, EngineException.Kind refusal) {
    return fake(name, refusal, () -> {});
  }

  /**
   * A fake engine: prepare refuses with {@code refusal}, or, with none, gives a guest that exits 0;
   * close runs {@code onClose}.
   */
  private static WasmEngine fake(String name, EngineException.Kind refusal, Runnable onClose) {
    return new WasmEngine() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Guest prepare(GuestSpec spec) {
        if (refusal != null) {
          throw new EngineException(refusal, "container c1: " + name + " refuses it");
        }
        return new Guest() {
          @Override
          public GuestResult run() {
            return new GuestResult.Exited(0);
          }

          @Override
          public void interrupt() {}

          @Override
          public long linearMemoryBytes() {
            return 0;
          }

          @Override
          public void close() {}
        };
      }

      @Override
      public void close() {
        onClose.run();
      }
    };
  }

  /** Wasmtime the default, which takes every module; Chicory refusing each with {@code kind}. */
  private static Engines chicoryRefusing(EngineException.Kind kind) {
    return new Engines(
        "wasmtime",
        Map.of(
            "wasmtime",
            () -> refusing("wasmtime", null),
            "chicory",
            () -> refusing("chicory", kind)));
  }

  @Test
  void preferred_refusingForWantOfResources_theDefaultEngineTakesTheModule() {
    Engines e = chicoryRefusing(EngineException.Kind.RESOURCE_EXHAUSTED);
    WasmEngine picked = e.select("c1", Map.of(), "chicory");

    try (Guest g = picked.prepare(EngineContractTest.spec(new byte[0]))) {
      assertEquals(new GuestResult.Exited(0), g.run());
    }
    assertEquals("wasmtime", picked.name(), "named after the engine that took the module");
  }

  @Test
  void preferred_refusingTheModuleItself_orNamedByTheAnnotation_noOtherEngineTries() {
    Engines e = chicoryRefusing(EngineException.Kind.INVALID_MODULE);
    EngineException invalid =
        assertThrows(
            EngineException.class,
            () ->
                e.select("c1", Map.of(), "chicory").prepare(EngineContractTest.spec(new byte[0])));
    assertEquals(EngineException.Kind.INVALID_MODULE, invalid.kind());

    Engines asked = chicoryRefusing(EngineException.Kind.RESOURCE_EXHAUSTED);
    EngineException refused =
        assertThrows(
            EngineException.class,
            () ->
                asked
                    .select("c1", Map.of(Engines.ANNOTATION, "chicory"), "chicory")
                    .prepare(EngineContractTest.spec(new byte[0])));
    assertEquals(EngineException.Kind.RESOURCE_EXHAUSTED, refused.kind());
  }

  @Test
  void select_unknownName_refusedNamingContainerAnnotationAndValidValues() {
    EngineException x =
        assertThrows(
            EngineException.class, () -> engines().select("c1", Map.of(Engines.ANNOTATION, "v8")));
    assertEquals(EngineException.Kind.INVALID_MODULE, x.kind());
    assertTrue(x.getMessage().contains("container c1"), x.getMessage());
    assertTrue(x.getMessage().contains("krill.io/engine=v8"), x.getMessage());
    assertTrue(x.getMessage().contains("wasmtime, chicory"), x.getMessage());
  }
}
