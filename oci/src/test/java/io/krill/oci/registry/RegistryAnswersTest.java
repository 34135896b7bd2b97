package io.krill.oci.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.sun.net.httpserver.HttpServer;
import io.krill.oci.image.ImageReference;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Answers no real registry gives, from a JDK HTTP server; cases found by RegistryClientFuzzTest.
 */
class RegistryAnswersTest {
  private HttpServer server;
  private String digestHeader = "";
  private int status = 200;
  private String challenge;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/",
        exchange -> {
          try (exchange) {
            byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Docker-Content-Digest", digestHeader);
            if (challenge != null) {
              exchange.getResponseHeaders().add("WWW-Authenticate", challenge);
            }
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
              out.write(body);
            }
          }
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private RegistryClient client() {
    return RegistryClient.of(
        ImageReference.of("127.0.0.1:" + server.getAddress().getPort(), "fuzz/app", "latest"),
        null,
        true);
  }

  @Test
  void getManifest_malformedDigestHeader_isRegistryExceptionNamingIt() {
    digestHeader = "sha256:nothex";
    RegistryException e =
        assertThrows(RegistryException.class, () -> client().getManifest("latest"));
    assertEquals(
        "get manifest fuzz/app:latest: the registry sent an invalid Docker-Content-Digest header"
            + " \"sha256:nothex\": invalid sha256 digest \"nothex\": expected 64 lowercase hex"
            + " characters",
        e.getMessage());
  }

  @Test
  void getManifest_relativeTokenRealm_isRegistryExceptionNamingIt() {
    status = 401;
    challenge = "Bearer realm=\"/token\",service=\"registry\"";
    RegistryException e =
        assertThrows(RegistryException.class, () -> client().getManifest("latest"));
    assertEquals(
        "get manifest fuzz/app:latest: the registry's token realm \"/token\" is not an absolute"
            + " http or https URL",
        e.getMessage());
  }
}
