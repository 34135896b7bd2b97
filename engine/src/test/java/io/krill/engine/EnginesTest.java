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
      return new WasmEngine() {
        @Override
        public String name() {
          return name;
        }

        @Override
        public Guest prepare(GuestSpec spec) {
          throw new UnsupportedOperationException();
        }

        @Override
        public void close() {
          closedNames.add(name);
        }
      };
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
