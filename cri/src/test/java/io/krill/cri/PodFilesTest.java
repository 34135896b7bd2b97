package io.krill.cri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PodFilesTest {
  @TempDir Path tmp;

  @Test
  void resolvConf_containerdLayout() {
    assertEquals("search ns.svc.cluster.local cluster.local\nnameserver 10.96.0.10\nnameserver 10.96.0.11\n"
        + "options ndots:5 timeout:1\n", PodFiles.resolvConf(new PodFiles.Dns(List.of("10.96.0.10", "10.96.0.11"),
        List.of("ns.svc.cluster.local", "cluster.local"), List.of("ndots:5", "timeout:1"))));
    assertEquals("", PodFiles.resolvConf(new PodFiles.Dns(List.of(), List.of(), List.of())));
  }

  @Test
  void hostname_configuredElsePodName() throws IOException {
    assertEquals("given", PodFiles.hostname("given", "web", true));
    assertEquals("web", PodFiles.hostname("", "web", false));
    assertFalse(PodFiles.hostname("", "web", true).isEmpty());
  }

  @Test
  void containerEtc_imageEtcLinkedAndPodFilesOverIt_fileMountWins() throws IOException {
    Path pod = podDir();
    Path image = Files.createDirectories(tmp.resolve("image/etc/ssl"));
    Files.writeString(image.resolve("cert.pem"), "cert");
    Files.writeString(tmp.resolve("image/etc/hostname"), "image's");
    Path kubeletHosts = Files.writeString(tmp.resolve("etc-hosts"), "10.1.2.3 web\n");
    Path etc = tmp.resolve("bundle/etc");

    assertTrue(PodFiles.containerEtc(pod, etc, tmp.resolve("image"),
        List.of(new CriContainer.MountSpec("/etc/hosts", kubeletHosts.toString(), true))));
    assertEquals("cert", Files.readString(etc.resolve("ssl/cert.pem")));
    assertEquals("web\n", Files.readString(etc.resolve("hostname")));
    assertEquals("image's", Files.readString(tmp.resolve("image/etc/hostname")), "the image is never written");
    assertEquals("10.1.2.3 web\n", Files.readString(etc.resolve("hosts")));
    assertEquals("nameserver 10.0.0.10\n", Files.readString(etc.resolve("resolv.conf")));
  }

  @Test
  void containerEtc_directoryMountAtEtc_none() throws IOException {
    assertFalse(PodFiles.containerEtc(podDir(), tmp.resolve("bundle/etc"), tmp.resolve("image"),
        List.of(new CriContainer.MountSpec("/etc/", tmp.toString(), true))));
    assertFalse(Files.exists(tmp.resolve("bundle/etc")));
  }

  @Test
  void pod_persistedWithPortMappings_andOlderRecordsStillRead() throws IOException {
    ObjectMapper json = new ObjectMapper();
    Pod pod = new Pod("0123456789abcdef", "web", "u", "default", 0, null, null, 0, true, false, "", "", "10.0.0.2",
        "web", List.of(new Pod.PortMapping("TCP", 80, 8080, "")));
    assertTrue(json.writeValueAsString(pod).contains("\"hostIP\":\"\""), json.writeValueAsString(pod));
    assertEquals(pod, json.readValue(json.writeValueAsString(pod), Pod.class));
    Pod old = json.readValue("{\"id\": \"0123456789abcdef\", \"name\": \"web\", \"ready\": true}", Pod.class);
    assertEquals("", old.hostname());
    assertEquals(List.of(), old.portMappings());
  }

  private Path podDir() throws IOException {
    Path pod = Files.createDirectories(tmp.resolve("pods/p"));
    Files.writeString(pod.resolve("hostname"), "web\n");
    Files.writeString(pod.resolve("hosts"), "127.0.0.1 localhost\n");
    Files.writeString(pod.resolve("resolv.conf"), "nameserver 10.0.0.10\n");
    return pod;
  }
}
