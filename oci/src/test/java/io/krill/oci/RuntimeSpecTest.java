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
  void parse_cpuLimitsAndCgroupsPath() throws Exception {
    RuntimeSpec spec =
        RuntimeSpec.parse(
            """
            {"linux":{"resources":{"cpu":{"shares":102,"quota":10000,"period":100000,
              "realtimeRuntime":0,"cpus":"0-1"}},
              "cgroupsPath":"/kubepods/burstable/pod1/c1"}}
            """
                .getBytes(StandardCharsets.UTF_8));
    assertEquals(Optional.of(new RuntimeSpec.Cpu(102L, 10000L, 100000L)), spec.cpu());
    assertEquals(Optional.of("/kubepods/burstable/pod1/c1"), spec.cgroupsPath());
    RuntimeSpec crilike = RuntimeSpec.parse(CRI_LIKE.getBytes(StandardCharsets.UTF_8));
    assertEquals(Optional.of(new RuntimeSpec.Cpu(2L, null, null)), crilike.cpu());
    assertEquals(Optional.empty(), crilike.cgroupsPath());
    RuntimeSpec none = RuntimeSpec.parse("{\"linux\":{\"resources\":{\"cpu\":{}}}}".getBytes());
    assertEquals(Optional.empty(), none.cpu());
  }

  @Test
  void cpuOfResources_updateJson_returnsWhatIsSet() throws Exception {
    assertEquals(
        Optional.of(new RuntimeSpec.Cpu(null, 50000L, 100000L)),
        RuntimeSpec.cpuOfResources(
            "{\"cpu\":{\"quota\":50000,\"period\":100000},\"memory\":{}}".getBytes()));
    assertEquals(Optional.empty(), RuntimeSpec.cpuOfResources("{\"memory\":{}}".getBytes()));
  }

  @Test
  void writtenSpecKeepsCpuLimitsAndLeavesUnsetFieldsOut() throws Exception {
    RuntimeSpec spec =
        new RuntimeSpec(
            "1.0.2",
            null,
            null,
            null,
            null,
            new RuntimeSpec.Linux(
                new RuntimeSpec.Resources(null, new RuntimeSpec.Cpu(null, 20000L, 100000L)),
                List.of(),
                null),
            null);
    String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(spec);
    assertTrue(json.contains("\"cpu\":{\"quota\":20000,\"period\":100000}"), json);
    assertFalse(json.contains("cgroupsPath"), json);
    assertEquals(spec.cpu(), RuntimeSpec.parse(json.getBytes(StandardCharsets.UTF_8)).cpu());
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
