package io.krill.oci.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.oci.image.ImageReference;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/** A registry that cannot be reached: the message says which, why, and what to check. */
class RegistryUnreachableTest {
  @Test
  void getManifest_nothingListening_namesRegistryAndCause() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    String registry = "127.0.0.1:" + port;
    RegistryClient client =
        RegistryClient.of(ImageReference.parse(registry + "/app:1"), null, false);
    RegistryException e = assertThrows(RegistryException.class, () -> client.getManifest("1"));
    assertEquals(0, e.status());
    String m = e.getMessage();
    assertFalse(m.contains("null"), m);
    assertTrue(m.contains("http://" + registry), m);
    assertTrue(m.contains("connection refused"), m);
    assertTrue(m.contains("check that the registry runs"), m);
  }

  @Test
  void getManifest_unknownHost_saysTheNameDoesNotResolve() {
    RegistryClient client =
        RegistryClient.of(ImageReference.parse("registry.invalid:5000/app:1"), null, true);
    RegistryException e = assertThrows(RegistryException.class, () -> client.getManifest("1"));
    String m = e.getMessage();
    assertFalse(m.contains("null"), m);
    assertTrue(m.contains("http://registry.invalid:5000"), m);
    assertTrue(m.contains("registry.invalid does not resolve"), m);
  }
}
