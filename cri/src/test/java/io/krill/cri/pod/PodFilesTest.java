package io.krill.cri.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PodFilesTest {
  @TempDir Path tmp;

  @Test
  void resolvConf_containerdLayout() {
    assertEquals(
        "search ns.svc.cluster.local cluster.local\nnameserver 10.96.0.10\nnameserver 10.96.0.11\n"
            + "options ndots:5 timeout:1\n",
        PodFiles.resolvConf(
            new PodFiles.Dns(
                List.of("10.96.0.10", "10.96.0.11"),
                List.of("ns.svc.cluster.local", "cluster.local"),
                List.of("ndots:5", "timeout:1"))));
    assertEquals("", PodFiles.resolvConf(new PodFiles.Dns(List.of(), List.of(), List.of())));
  }

  @Test
  void hostname_configuredElsePodName() throws IOException {
    assertEquals("given", PodFiles.hostname("given", "web", true));
    assertEquals("web", PodFiles.hostname("", "web", false));
    assertFalse(PodFiles.hostname("", "web", true).isEmpty());
  }

  @Test
  void pod_persistedWithPortMappings_andOlderRecordsStillRead() throws IOException {
    ObjectMapper json = new ObjectMapper();
    Pod pod =
        new Pod(
            "0123456789abcdef",
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
            "10.0.0.2",
            "web",
            List.of(new Pod.PortMapping("TCP", 80, 8080, "")));
    assertTrue(
        json.writeValueAsString(pod).contains("\"hostIP\":\"\""), json.writeValueAsString(pod));
    assertEquals(pod, json.readValue(json.writeValueAsString(pod), Pod.class));
    Pod old =
        json.readValue(
            "{\"id\": \"0123456789abcdef\", \"name\": \"web\", \"ready\": true}", Pod.class);
    assertEquals("", old.hostname());
    assertEquals(List.of(), old.portMappings());
  }
}
