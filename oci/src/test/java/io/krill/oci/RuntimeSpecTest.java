package io.krill.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RuntimeSpecTest {

  private static final String CRI_LIKE =
      """
      {"ociVersion":"1.0.2-dev","process":{"user":{"uid":0,"gid":0},
        "args":["/app.wasm#run","x"],"env":["PATH=/usr/bin","A=b"],"cwd":"/work","capabilities":{}},
       "root":{"path":"rootfs","readonly":false},"hostname":"h",
       "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                 {"destination":"/data","type":"bind","source":"/srv/d","options":["rbind","ro"]}],
       "annotations":{"io.kubernetes.cri.container-type":"container"},
       "linux":{"resources":{"memory":{"limit":67108864},"cpu":{"shares":2}},
                "namespaces":[{"type":"network","path":"/var/run/netns/x"}],"seccomp":{}}}
      """;

  @Test
  void parse_criLikeSpec_readsWhatWasmNeeds() throws Exception {
    RuntimeSpec spec = RuntimeSpec.parse(CRI_LIKE.getBytes(StandardCharsets.UTF_8));
    assertEquals(List.of("/app.wasm#run", "x"), spec.args());
    assertEquals(List.of("PATH=/usr/bin", "A=b"), spec.env());
    assertEquals("/work", spec.cwd());
    assertEquals(Path.of("/b/rootfs"), spec.rootPath(Path.of("/b")));
    assertEquals(Optional.of(67108864L), spec.memoryLimit());
    RuntimeSpec.Mount data = spec.mounts().get(1);
    assertTrue(data.isBind());
    assertTrue(data.readOnly());
    assertFalse(spec.mounts().get(0).isBind());
  }

  @Test
  void parse_absoluteRootAndNoEnv_defaults() throws Exception {
    RuntimeSpec spec =
        RuntimeSpec.parse(
            "{\"process\":{\"args\":[\"/h.wasm\"]},\"root\":{\"path\":\"/abs/root\"}}".getBytes());
    assertEquals(Path.of("/abs/root"), spec.rootPath(Path.of("/b")));
    assertEquals(List.of(), spec.env());
    assertEquals("/", spec.cwd());
    assertEquals(Optional.empty(), spec.memoryLimit());
  }

  @Test
  void memoryLimitOfResources_updateJson_returnsLimit() throws Exception {
    assertEquals(
        Optional.of(1048576L),
        RuntimeSpec.memoryLimitOfResources("{\"memory\":{\"limit\":1048576}}".getBytes()));
    assertEquals(Optional.empty(), RuntimeSpec.memoryLimitOfResources("{}".getBytes()));
  }

  @Test
  void parse_jsonNull_isIoExceptionNotNull() {
    // Found by RuntimeSpecFuzzTest: "null" parsed to a null spec (and a null Process, and an NPE
    // for resources), which the runtime would dereference.
    byte[] json = "null".getBytes(StandardCharsets.UTF_8);
    org.junit.jupiter.api.Assertions.assertEquals(
        "config.json is not a JSON object",
        org.junit.jupiter.api.Assertions.assertThrows(
                java.io.IOException.class, () -> RuntimeSpec.parse(json))
            .getMessage());
    org.junit.jupiter.api.Assertions.assertEquals(
        "the process spec is not a JSON object",
        org.junit.jupiter.api.Assertions.assertThrows(
                java.io.IOException.class, () -> RuntimeSpec.parseProcess(json))
            .getMessage());
    org.junit.jupiter.api.Assertions.assertEquals(
        "the resources are not a JSON object",
        org.junit.jupiter.api.Assertions.assertThrows(
                java.io.IOException.class, () -> RuntimeSpec.memoryLimitOfResources(json))
            .getMessage());
  }
}
