package io.krill.cri.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContainerEtcTest {
  @TempDir Path tmp;

  @Test
  void build_imageEtcLinkedAndPodFilesOverIt_fileMountWins() throws IOException {
    Path pod = podDir();
    Path image = Files.createDirectories(tmp.resolve("image/etc/ssl"));
    Files.writeString(image.resolve("cert.pem"), "cert");
    Files.writeString(tmp.resolve("image/etc/hostname"), "image's");
    Path kubeletHosts = Files.writeString(tmp.resolve("etc-hosts"), "10.1.2.3 web\n");
    Path etc = tmp.resolve("bundle/etc");

    assertTrue(
        ContainerEtc.build(
            pod,
            etc,
            tmp.resolve("image"),
            List.of(new CriContainer.MountSpec("/etc/hosts", kubeletHosts.toString(), true))));
    assertEquals("cert", Files.readString(etc.resolve("ssl/cert.pem")));
    assertEquals("web\n", Files.readString(etc.resolve("hostname")));
    assertEquals(
        "image's",
        Files.readString(tmp.resolve("image/etc/hostname")),
        "the image is never written");
    assertEquals("10.1.2.3 web\n", Files.readString(etc.resolve("hosts")));
    assertEquals("nameserver 10.0.0.10\n", Files.readString(etc.resolve("resolv.conf")));
  }

  @Test
  void build_directoryMountAtEtc_none() throws IOException {
    assertFalse(
        ContainerEtc.build(
            podDir(),
            tmp.resolve("bundle/etc"),
            tmp.resolve("image"),
            List.of(new CriContainer.MountSpec("/etc/", tmp.toString(), true))));
    assertFalse(Files.exists(tmp.resolve("bundle/etc")));
  }

  private Path podDir() throws IOException {
    Path pod = Files.createDirectories(tmp.resolve("pods/p"));
    Files.writeString(pod.resolve("hostname"), "web\n");
    Files.writeString(pod.resolve("hosts"), "127.0.0.1 localhost\n");
    Files.writeString(pod.resolve("resolv.conf"), "nameserver 10.0.0.10\n");
    return pod;
  }
}
