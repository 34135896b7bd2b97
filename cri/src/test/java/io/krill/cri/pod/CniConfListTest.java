package io.krill.cri.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.krill.cri.pod.cni.CniConfList;
import io.krill.cri.pod.cni.CniError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CniConfListTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  private CniConfList read(String json) throws IOException {
    Path f = tmp.resolve("10-test.conflist");
    Files.writeString(f, json);
    return CniConfList.read(f);
  }

  @Test
  void pluginConfig_portMappingsOnlyForPluginsDeclaringTheCapability() throws IOException {
    CniConfList list =
        read(
            """
        {"cniVersion": "1.0.0", "name": "net", "plugins": [
          {"type": "bridge", "bridge": "br0"},
          {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}]}""");
    Pod pod =
        pod(
            List.of(
                new Pod.PortMapping("TCP", 80, 8080, "127.0.0.1"),
                new Pod.PortMapping("UDP", 53, 0, "")));
    JsonNode prev = JSON.readTree("{\"cniVersion\": \"1.0.0\", \"ips\": []}");

    ObjectNode bridge = list.pluginConfig(0, null, PodNetworks.capabilityArgs(pod));
    assertEquals("net", bridge.path("name").asText());
    assertEquals("1.0.0", bridge.path("cniVersion").asText());
    assertEquals("br0", bridge.path("bridge").asText());
    assertFalse(bridge.has("runtimeConfig"), bridge.toString());
    assertFalse(bridge.has("prevResult"));

    ObjectNode portmap = list.pluginConfig(1, prev, PodNetworks.capabilityArgs(pod));
    assertEquals(
        JSON.readTree(
            "[{\"hostPort\": 8080, \"containerPort\": 80, \"protocol\": \"tcp\","
                + " \"hostIP\": \"127.0.0.1\"}]"),
        portmap.path("runtimeConfig").path("portMappings"));
    assertEquals(prev, portmap.get("prevResult"));
    assertTrue(portmap.path("snat").asBoolean());
    assertFalse(list.plugins().get(1).has("runtimeConfig"), "the list itself is left as read");
  }

  @Test
  void pluginConfig_noPortMappings_noRuntimeConfig() throws IOException {
    CniConfList list =
        read(
            """
        {"cniVersion": "1.0.0", "name": "net", "plugins": [
          {"type": "portmap", "capabilities": {"portMappings": true}}]}""");
    assertFalse(
        list.pluginConfig(0, null, PodNetworks.capabilityArgs(pod(List.of())))
            .has("runtimeConfig"));
  }

  @Test
  void read_disableCheckAndVersion() throws IOException {
    CniConfList on =
        read(
            "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"disableCheck\": true,"
                + " \"plugins\": [{\"type\": \"bridge\"}]}");
    assertTrue(on.disableCheck());
    assertTrue(on.supportsCheck());
    assertTrue(
        read("{\"cniVersion\": \"0.4.0\", \"name\": \"n\", \"disableCheck\": \"true\","
                + " \"plugins\": [{\"type\": \"bridge\"}]}")
            .disableCheck());
    CniConfList old =
        read("{\"cniVersion\": \"0.3.1\", \"name\": \"n\", \"plugins\": [{\"type\": \"bridge\"}]}");
    assertFalse(old.disableCheck());
    assertFalse(old.supportsCheck());
  }

  @Test
  void read_singlePluginConf_isAListOfOne() throws IOException {
    CniConfList one = read("{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"type\": \"bridge\"}");
    assertEquals(1, one.plugins().size());
    assertEquals("bridge", one.type(0));
  }

  @Test
  void type_pathOutsideThePluginDirectory_refused() throws IOException {
    CniConfList bad =
        read("{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"plugins\": [{\"type\": \"../sh\"}]}");
    IOException e = assertThrows(IOException.class, () -> bad.type(0));
    assertTrue(e.getMessage().contains("\"../sh\""), e.getMessage());
  }

  @Test
  void cniError_parsesCodeMsgDetails() {
    CniError e =
        CniError.parse(
                "{\"cniVersion\": \"1.0.0\", \"code\": 999, \"msg\": \"interface eth0 not found\","
                    + " \"details\": \"Link not found\"}")
            .orElseThrow();
    assertEquals(999, e.code());
    assertEquals("interface eth0 not found: Link not found (CNI error 999)", e.text());
    assertEquals(
        "x (CNI error 11)", CniError.parse("{\"code\": 11, \"msg\": \"x\"}").orElseThrow().text());
    assertTrue(CniError.parse("panic: runtime error").isEmpty());
    assertTrue(CniError.parse("").isEmpty());
    assertTrue(CniError.parse("{\"ips\": []}").isEmpty());
  }

  private static Pod pod(List<Pod.PortMapping> ports) {
    return new Pod(
        "0123456789abcdef0123",
        "web",
        "u",
        "default",
        0,
        null,
        null,
        0,
        true,
        false,
        "",
        "",
        "",
        "web",
        ports);
  }
}
