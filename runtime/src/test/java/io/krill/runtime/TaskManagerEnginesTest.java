package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.engine.Engines;
import io.krill.engine.WasmEngine;
import io.krill.engine.chicory.ChicoryEngine;
import io.krill.engine.wasm.WasmBytes;
import io.krill.engine.wasmtime.WasmtimeEngine;
import io.krill.runtime.TaskFixture.Bundle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both engines in one daemon: the {@code krill.io/engine} annotation picks a container's, the
 * daemon's default runs the rest, and an engine the daemon does not know is refused at Create.
 */
class TaskManagerEnginesTest {
  @TempDir Path tmp;
  private TaskFixture f;
  private final List<String> log = new ArrayList<>();
  private final Logger tasksLog = Logger.getLogger("krill.tasks");
  private final Handler handler =
      new Handler() {
        @Override
        public void publish(LogRecord r) {
          log.add(java.text.MessageFormat.format(r.getMessage(), r.getParameters()));
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };

  @BeforeEach
  void setUp() {
    Map<String, Supplier<WasmEngine>> engines = new LinkedHashMap<>();
    engines.put("wasmtime", () -> new WasmtimeEngine(Optional.empty()));
    engines.put("chicory", ChicoryEngine::new);
    f = new TaskFixture(tmp, new Engines("wasmtime", engines));
    tasksLog.addHandler(handler);
  }

  @AfterEach
  void tearDown() throws Exception {
    tasksLog.removeHandler(handler);
    f.close();
  }

  private Bundle bundle(String id, String annotations) {
    return f.bundle(
        id,
        "/app.wasm",
        "app.wasm",
        WasmBytes.emptyFunctionModule("_start"),
        annotations == null ? "" : ",\"annotations\":{" + annotations + "}");
  }

  @Test
  void annotation_picksTheContainersEngine_defaultOtherwise() throws Exception {
    assertEquals(0, f.run(bundle("c-chicory", "\"krill.io/engine\":\"chicory\"")).code());
    assertEquals(0, f.run(bundle("c-default", null)).code());
    assertEquals(0, f.run(bundle("c-wasmtime", "\"krill.io/engine\":\"wasmtime\"")).code());
    assertTrue(log.contains("container c-chicory: created on engine chicory"), log.toString());
    assertTrue(log.contains("container c-default: created on engine wasmtime"), log.toString());
    assertTrue(log.contains("container c-wasmtime: created on engine wasmtime"), log.toString());
  }

  @Test
  void unknownEngine_refusedAtCreate_namingContainerAnnotationAndValues() {
    Bundle b = bundle("c-v8", "\"krill.io/engine\":\"v8\"");
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(e.getMessage().contains("container c-v8"), e.getMessage());
    assertTrue(e.getMessage().contains("krill.io/engine=v8"), e.getMessage());
    assertTrue(e.getMessage().contains("use one of wasmtime, chicory"), e.getMessage());
    assertEquals(List.of(), f.tasks.ids());
    assertTrue(f.tasks.isEmpty());
  }
}
