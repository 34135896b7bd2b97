package io.krill.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.krill.runtime.TaskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shim, not the core, tells a pod's sandbox from a container, by containerd's CRI annotation.
 */
class TaskServiceKindTest {
  @TempDir Path tmp;

  private Path bundle(String annotations) throws Exception {
    Files.writeString(
        tmp.resolve("config.json"),
        "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"/app.wasm\"]},"
            + "\"root\":{\"path\":\"rootfs\"},\"annotations\":{"
            + annotations
            + "}}");
    return tmp;
  }

  @Test
  void kindOf_sandboxAnnotation_podSandbox() throws Exception {
    assertEquals(
        TaskSpec.Kind.POD_SANDBOX,
        TaskService.kindOf(bundle("\"io.kubernetes.cri.container-type\":\"sandbox\"")));
  }

  @Test
  void kindOf_containerAnnotationOrNone_wasm() throws Exception {
    assertEquals(
        TaskSpec.Kind.WASM,
        TaskService.kindOf(bundle("\"io.kubernetes.cri.container-type\":\"container\"")));
    assertEquals(TaskSpec.Kind.WASM, TaskService.kindOf(bundle("")));
  }

  @Test
  void kindOf_noConfigJson_wasmAndTheCoreReportsIt() {
    assertEquals(TaskSpec.Kind.WASM, TaskService.kindOf(tmp.resolve("missing")));
  }
}
