package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CtrProcess;
import io.krill.it.harness.Host;
import io.krill.it.harness.Result;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestImages;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An image that declares itself an HTTP app with a {@code /krill.toml} ({@code [wagi]} table, two
 * {@code [[wagi.route]]}s) is served an instance per request through ctr with no annotation at all;
 * the annotation {@code krill.io/wagi} moves it to another address, the file's routes kept; a
 * malformed file refuses the create, naming the container, the file and the key.
 */
class WagiKrillTomlE2ETest {
  private static final String NS = "krill-wagi-toml";
  private static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static HttpResponse<String> get(int port, String path) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(30))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** {@code ctr run} of the image with its own entrypoint, once something listens on port. */
  private static CtrProcess run(Containerd c, String image, String id, int port, String... extra) {
    List<String> args = new ArrayList<>(List.of("-n", NS, "run", "--rm", "--runtime", RUNTIME));
    args.addAll(List.of(extra));
    args.addAll(List.of(image, id));
    CtrProcess p = c.ctrBackground(args.toArray(String[]::new));
    Tasks.awaitRunning(c, NS, id);
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), port)) {
        return p;
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("nothing listens on " + port + ": " + p.stderrSoFar());
        }
        Host.sleep(50);
      }
    }
  }

  private static void assertServesTheFilesRoutes(int port) throws Exception {
    HttpResponse<String> r = get(port, "/api/echo?x=1");
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("route=/api/...\nscript=/api\n"), r.body());
    assertTrue(r.body().contains("path=/echo\n"), r.body());
    r = get(port, "/second");
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("route=/second\nscript=/second\n"), r.body());
    assertEquals(404, get(port, "/nope").statusCode());
    assertEquals(404, get(port, "/second/below").statusCode());
  }

  private static void stop(Containerd c, String id, CtrProcess ctr) {
    c.ok("-n", NS, "task", "kill", "-s", "SIGTERM", id);
    Result ended = ctr.await(Duration.ofSeconds(30));
    assertEquals(SIGTERM_EXIT, ended.exitCode(), ended.toString());
    assertTrue(ended.stdout().contains("GET /api/echo?x=1 200 "), ended.stdout());
    c.ctr("-n", NS, "container", "rm", id);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void theImagesKrillTomlServesItsRoutes_annotationsWin_aBadFileIsRefused(ContainerdVersion v)
      throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.WAGI_APP.importInto(c, NS);
    int filePort = TestImages.WAGI_APP_PORT;

    String id = id("wagi-toml");
    CtrProcess ctr = run(c, image, id, filePort);
    assertServesTheFilesRoutes(filePort);
    // A server, though only its image's file says so: Chicory unless an annotation names an engine.
    String created = "container " + id + ": created on engine chicory";
    assertTrue(Host.daemonLogs(c.runDir()).contains(created), created);
    stop(c, id, ctr);

    // The annotation's address over the file's; the file's routes still serve.
    int port = Host.freeLoopbackPort();
    String moved = id("wagi-toml-moved");
    ctr = run(c, image, moved, port, "--annotation", "krill.io/wagi=tcp://127.0.0.1:" + port);
    assertServesTheFilesRoutes(port);
    assertThrows(
        IOException.class, () -> new Socket(InetAddress.getByName("127.0.0.1"), filePort).close());
    stop(c, moved, ctr);

    String badImage = TestImages.WAGI_BAD_TOML.importInto(c, NS);
    String refused = id("wagi-toml-bad");
    Result bad = c.ctr("-n", NS, "run", "-d", "--runtime", RUNTIME, badImage, refused);
    assertNotEquals(0, bad.exitCode(), bad.toString());
    for (String part :
        List.of(
            "container " + refused,
            "/krill.toml in its image",
            "wagi.timeout",
            "\"" + TestImages.BAD_TIMEOUT + "\"",
            "a duration such as 500ms, 30s or 2m")) {
      assertTrue(bad.stderr().contains(part), part + " in " + bad);
    }
    c.ctr("-n", NS, "container", "rm", refused);
    new ServerSocket(filePort, 1, InetAddress.getByName("127.0.0.1")).close();
    new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close();
    c.assertNoLeaks();
  }
}
