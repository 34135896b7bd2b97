package io.krill.oci.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.sun.net.httpserver.HttpServer;
import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.krill.oci.image.ImageReference;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * A registry (the JDK's HTTP server on 127.0.0.1) that answers with fuzzed statuses, headers
 * ({@code WWW-Authenticate}, {@code Location}, {@code Docker-Content-Digest}, {@code Content-Type})
 * and bodies, including the token service's: every call either returns verified content (a manifest
 * whose digest is its bytes', within the size limit; a blob that matches its descriptor) or fails
 * with a {@link RegistryException} (an {@link IOException} while a blob is read).
 */
class RegistryClientFuzzTest {
  private static final String[] HEADERS = {
    "Content-Type", "Docker-Content-Digest", "WWW-Authenticate", "Location"
  };
  private static final String[] VALUES = {
    MediaTypes.OCI_MANIFEST,
    "Bearer realm=\"REGISTRY/token\",service=\"fuzz\",scope=\"repository:fuzz/app:pull\"",
    "Basic realm=\"fuzz\"",
    "/v2/fuzz/app/blobs/elsewhere",
    "sha256:",
  };

  private record Answer(int status, Map<String, String> headers, byte[] body) {}

  private static final ConcurrentLinkedQueue<Answer> SCRIPT = new ConcurrentLinkedQueue<>();
  private static HttpServer server;
  private static URI base;

  @BeforeAll
  static void startServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/",
        exchange -> {
          try (exchange) {
            exchange.getRequestBody().readAllBytes();
            Answer a = SCRIPT.poll();
            if (a == null) {
              a = new Answer(404, Map.of(), new byte[0]);
            }
            a.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
            boolean head = exchange.getRequestMethod().equals("HEAD");
            exchange.sendResponseHeaders(
                a.status(), head || a.body().length == 0 ? -1 : a.body().length);
            if (!head) {
              try (OutputStream out = exchange.getResponseBody()) {
                out.write(a.body());
              }
            }
          }
        });
    server.start();
    base = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
  }

  @AfterAll
  static void stopServer() {
    server.stop(0);
  }

  /**
   * Jazzer's SSRF detector flags every connection; this registry is the only host the client may
   * reach (foreign redirects and realms are rewritten below). The detector exists only once Jazzer
   * has installed its hooks, and Jazzer resets the policy before every input.
   */
  private static void allowThisRegistry() {
    int port = server.getAddress().getPort();
    try {
      BugDetectors.allowNetworkConnections(
          (host, p) ->
              (host.equals("127.0.0.1") || host.equals("localhost")) && p.intValue() == port);
    } catch (IllegalStateException e) {
      // No detector: hooks are off (a regression run).
    }
  }

  @FuzzTest
  void calls_anyAnswers_returnVerifiedContentOrRegistryException(FuzzedDataProvider in) {
    allowThisRegistry();
    SCRIPT.clear();
    List<Answer> answers = new ArrayList<>();
    int n = in.consumeInt(1, 4);
    for (int i = 0; i < n; i++) {
      answers.add(answer(in));
    }
    SCRIPT.addAll(answers);
    Credentials credentials =
        switch (in.consumeInt(0, 3)) {
          case 0 -> null;
          case 1 -> Credentials.of("user", "secret");
          case 2 -> Credentials.identityToken("user", "refresh");
          default -> Credentials.registryToken("token");
        };
    ImageReference ref =
        ImageReference.of("127.0.0.1:" + server.getAddress().getPort(), "fuzz/app", "latest");
    RegistryClient client = RegistryClient.of(ref, credentials, true);
    byte[] first = answers.get(0).body();
    Descriptor blob = Descriptor.of(MediaTypes.WASM_LAYER, Digest.sha256(first), first.length);
    try {
      switch (in.consumeInt(0, 3)) {
        case 0 -> {
          RegistryClient.FetchedManifest m = client.getManifest("latest");
          assertManifest(m);
        }
        case 1 -> {
          RegistryClient.FetchedManifest m = client.getManifest(blob.digest().toString());
          assertManifest(m);
          assertEquals(blob.digest(), m.digest());
        }
        case 2 -> {
          try (InputStream s = client.getBlob(blob)) {
            assertArrayEquals(first, s.readAllBytes());
          } catch (IOException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
          }
        }
        default -> client.blobExists(blob);
      }
    } catch (RegistryException e) {
      assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
    }
  }

  private static void assertManifest(RegistryClient.FetchedManifest m) {
    assertTrue(m.bytes().length <= Manifest.MAX_BYTES);
    assertEquals(Digest.sha256(m.bytes()), m.digest());
  }

  private static Answer answer(FuzzedDataProvider in) {
    int status =
        in.consumeBoolean()
            ? in.pickValue(new Integer[] {200, 301, 307, 401, 403, 404, 500})
            : in.consumeInt(200, 599);
    if (status == 204 || status == 304) {
      status = 200;
    }
    Map<String, String> headers = new LinkedHashMap<>();
    int h = in.consumeInt(0, 3);
    for (int i = 0; i < h; i++) {
      String name = in.pickValue(HEADERS);
      String value =
          in.consumeBoolean()
              ? in.pickValue(VALUES).replace("REGISTRY/", base.toString())
              : in.consumeString(120);
      headers.put(name, local(name, value.replaceAll("[\\r\\n\\x00-\\x1f\\x7f-\\x{10ffff}]", "")));
    }
    return new Answer(status, headers, in.consumeBytes(in.consumeInt(0, 2048)));
  }

  /**
   * A redirect or token realm on another host would send the client off this machine; such values
   * are turned into a path here, while unparsable ones stay for the client to refuse.
   */
  private static String local(String name, String value) {
    if (name.equals("Location")) {
      return foreign(value) ? "/elsewhere" : value;
    }
    if (name.equals("WWW-Authenticate")) {
      Challenge c = Challenge.parse(value);
      if (c != null && c.params().get("realm") != null && foreign(c.params().get("realm"))) {
        return value.replace(c.params().get("realm"), base + "token");
      }
    }
    return value;
  }

  private static boolean foreign(String uri) {
    try {
      URI u = base.resolve(uri);
      return u.getHost() == null
          || !u.getHost().equals("127.0.0.1")
          || u.getPort() != base.getPort()
          || !"http".equals(u.getScheme());
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
