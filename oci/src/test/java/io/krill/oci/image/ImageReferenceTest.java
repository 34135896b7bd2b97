package io.krill.oci.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ImageReferenceTest {
  private static final String D = "sha256:" + "ab".repeat(32);

  @Test
  void parse_shortName_getsDockerHubDefaults() {
    ImageReference r = ImageReference.parse("hello");
    assertEquals("docker.io", r.registry());
    assertEquals("library/hello", r.repository());
    assertEquals("latest", r.tag());
    assertEquals("registry-1.docker.io", r.apiHost());
    assertEquals("docker.io/library/hello:latest", r.toString());
  }

  @Test
  void parse_registryWithPort_tagAndDigest() {
    ImageReference r = ImageReference.parse("127.0.0.1:5000/wasm/hello:v1@" + D);
    assertEquals("127.0.0.1:5000", r.registry());
    assertEquals("wasm/hello", r.repository());
    assertEquals("v1", r.tag());
    assertEquals(D, r.digest().toString());
    assertEquals(D, r.manifestReference());
    assertTrue(r.isLoopback());
  }

  @Test
  void parse_digestOnly_hasNoTag() {
    ImageReference r = ImageReference.parse("ghcr.io/org/app@" + D);
    assertNull(r.tag());
    assertFalse(r.isLoopback());
  }

  @Test
  void parse_localhostAndUserRepo() {
    assertEquals("localhost:5000", ImageReference.parse("localhost:5000/x").registry());
    assertEquals("docker.io/user/app:latest", ImageReference.parse("user/app").toString());
  }

  @Test
  void parse_invalid_namesTheProblem() {
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("Foo/Bar"))
            .getMessage()
            .contains("invalid repository"));
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("x:bad tag"))
            .getMessage()
            .contains("invalid tag"));
    assertThrows(IllegalArgumentException.class, () -> ImageReference.parse(""));
  }
}
