package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The instance-per-request (WAGI) shape through ctr: {@code krill.io/wagi=tcp://127.0.0.1:PORT} has
 * krill serve HTTP there and run a fresh instance of wagi.wasm for every request, on Wasmtime and
 * on Chicory. Requests see the CGI environment, argv and body; a trap, a malformed CGI response,
 * memory exhaustion and a loop are answered 500/500/500/504 and the next request is served; limits
 * answer 413, 431 and 408; requests run concurrently; every request has an access log line on the
 * task's stdout and guest stderr reaches its stderr; SIGTERM lets a request in flight finish and
 * ends the task with 143, SIGKILL with 137.
 */
class WagiE2ETest {
  private static final String NS = "krill-wagi";
  private static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static HttpResponse<String> get(int port, String path) throws Exception {
    return send(port, HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)));
  }

  private static HttpResponse<String> send(int port, HttpRequest.Builder b) throws Exception {
    return HTTP.send(
        b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static CtrProcess serve(
      Containerd c, String image, String id, int port, String engine, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "-n",
                NS,
                "run",
                "--rm",
                "--runtime",
                RUNTIME,
                "--memory-limit",
                String.valueOf(64L << 20),
                "--env",
                "GREETING=hello",
                "--annotation",
                "krill.io/engine=" + engine,
                "--annotation",
                "krill.io/wagi=tcp://127.0.0.1:" + port,
                "--annotation",
                "krill.io/wagi-timeout=2s",
                "--annotation",
                "krill.io/wagi-max-body=1Ki",
                "--annotation",
                "krill.io/wagi-read-timeout=2s"));
    args.addAll(List.of(extra));
    args.addAll(List.of(image, id, "/wagi.wasm"));
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

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void everyRequestAFreshInstance_badOnesAnsweredAlone_sigtermDrains(ContainerdVersion v)
      throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    for (String engine : new String[] {"wasmtime", "chicory"}) {
      int port = Host.freeLoopbackPort();
      String id = id("wagi-" + engine);
      CtrProcess ctr = serve(c, image, id, port, engine);

      HttpResponse<String> r =
          send(
              port,
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/echo?x=1&y=two"))
                  .header("X-Test", "yes"));
      assertEquals(200, r.statusCode(), r.body());
      assertEquals("text/plain", r.headers().firstValue("content-type").orElse(""));
      assertEquals("wagi", r.headers().firstValue("x-guest").orElse(""));
      for (String line :
          List.of(
              "method=GET",
              "path=/echo",
              "query=x=1&y=two",
              "route=/...",
              "argc=3",
              "arg=x=1",
              "arg=y=two",
              "greeting=hello",
              "header=yes",
              "length=0")) {
        assertTrue(r.body().contains(line + "\n"), line + " in " + r.body());
      }

      r =
          send(
              port,
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/echo"))
                  .header("Content-Type", "text/x-test")
                  .POST(HttpRequest.BodyPublishers.ofString("ping")));
      assertEquals(200, r.statusCode(), r.body());
      assertTrue(r.body().contains("method=POST\n"), r.body());
      assertTrue(r.body().contains("body=ping\n"), r.body());
      assertTrue(r.body().contains("length=4\n"), r.body());
      assertTrue(r.body().contains("type=text/x-test\n"), r.body());

      r = get(port, "/redirect");
      assertEquals(302, r.statusCode());
      assertEquals("/elsewhere", r.headers().firstValue("location").orElse(""));
      r = get(port, "/status");
      assertEquals(201, r.statusCode());
      assertEquals("created\n", r.body());

      // Each bad request is answered alone; the next one is served as before.
      String[][] bad = {
        {"/trap", "500", "wasm trap"},
        {"/malformed", "500", "malformed CGI response: header line \"this is not a header\""},
        {"/grow", "500", "out of memory"},
        {"/loop", "504", "the guest ran longer than 2000 ms"},
      };
      for (String[] b : bad) {
        long t0 = System.nanoTime();
        r = get(port, b[0]);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(Integer.parseInt(b[1]), r.statusCode(), b[0] + ": " + r.body());
        assertTrue(r.body().contains(b[2]), b[0] + ": " + r.body());
        if (b[0].equals("/loop")) {
          assertTrue(ms >= 1900 && ms < 10_000, "/loop answered after " + ms + " ms");
        }
        assertEquals(200, get(port, "/echo").statusCode(), "after " + b[0]);
      }

      // Limits: body, headers, a client that never finishes its request.
      r =
          send(
              port,
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/echo"))
                  .POST(HttpRequest.BodyPublishers.ofString("x".repeat(2048))));
      assertEquals(413, r.statusCode());
      r =
          send(
              port,
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/echo"))
                  .header("X-Big", "y".repeat(20_000)));
      assertEquals(431, r.statusCode());
      assertEquals(414, get(port, "/echo?q=" + "z".repeat(9000)).statusCode());
      try (Socket slow = new Socket(InetAddress.getByName("127.0.0.1"), port)) {
        slow.setSoTimeout(10_000);
        OutputStream out = slow.getOutputStream();
        out.write("GET /echo HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = slow.getInputStream();
        String answer = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
      }

      // Concurrent: 8 requests of 1 s each take far less than 8 s.
      long t0 = System.nanoTime();
      List<CompletableFuture<HttpResponse<String>>> many = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        many.add(
            HTTP.sendAsync(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/sleep?n=" + i))
                    .timeout(Duration.ofSeconds(30))
                    .build(),
                HttpResponse.BodyHandlers.ofString()));
      }
      for (int i = 0; i < 8; i++) {
        HttpResponse<String> each = many.get(i).get();
        assertEquals(200, each.statusCode(), each.body());
        assertTrue(each.body().contains("arg=n=" + i + "\n"), each.body());
      }
      long concurrentMs = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(concurrentMs < 6_000, "8 concurrent 1 s requests took " + concurrentMs + " ms");

      // SIGTERM: the request in flight is answered, then the task exits 143.
      CompletableFuture<HttpResponse<String>> inFlight =
          HTTP.sendAsync(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/sleep"))
                  .timeout(Duration.ofSeconds(30))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      Host.sleep(300);
      c.ok("-n", NS, "task", "kill", "-s", "SIGTERM", id);
      assertEquals(200, inFlight.get().statusCode());
      Result ended = ctr.await(Duration.ofSeconds(30));
      assertEquals(SIGTERM_EXIT, ended.exitCode(), ended.toString());
      for (String line :
          List.of(
              "GET /echo?x=1&y=two 200 ",
              "POST /echo 200 ",
              "GET /trap 500 ",
              "GET /loop 504 ",
              "POST /echo 413 ",
              "GET /echo 431 ",
              " 414 ",
              "- - 408 ",
              "GET /sleep 200 ")) {
        assertTrue(ended.stdout().contains(line), "access log " + line + " in " + ended.stdout());
      }
      assertTrue(ended.stderr().contains("wagi guest: GET /echo\n"), ended.stderr());
      assertTrue(
          ended.stderr().contains("krill: container " + id + ": GET /trap: 500 wasm trap"),
          ended.stderr());
      c.ctr("-n", NS, "container", "rm", id);
      new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close();
    }
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void sigkillStopsARunningInstance_badRoutesRefused(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    int port = Host.freeLoopbackPort();
    String id = id("wagi-kill");
    CtrProcess ctr =
        serve(
            c,
            image,
            id,
            port,
            "wasmtime",
            "--annotation",
            "krill.io/wagi-routes=/api/...=/wagi.wasm,/hello=/hello.wasm");
    HttpResponse<String> r = get(port, "/api/echo");
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("route=/api/...\nscript=/api\n"), r.body());
    assertTrue(r.body().contains("path=/echo\n"), r.body());
    assertEquals(404, get(port, "/other").statusCode());
    // hello.wasm writes no CGI headers
    r = get(port, "/hello");
    assertEquals(500, r.statusCode());
    assertTrue(r.body().contains("malformed CGI response"), r.body());
    CompletableFuture<HttpResponse<String>> looping =
        HTTP.sendAsync(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/loop"))
                .timeout(Duration.ofSeconds(30))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    Host.sleep(300);
    c.ok("-n", NS, "task", "kill", "-s", "SIGKILL", id);
    Result ended = ctr.await(Duration.ofSeconds(30));
    assertEquals(SIGKILL_EXIT, ended.exitCode(), ended.toString());
    try {
      HttpResponse<String> answered = looping.get();
      assertNotEquals(200, answered.statusCode());
    } catch (java.util.concurrent.ExecutionException e) {
      // the connection was closed: as good an answer as any for a killed container
    }
    c.ctr("-n", NS, "container", "rm", id);

    String refused = id("wagi-bad-route");
    Result bad =
        c.ctr(
            "-n",
            NS,
            "run",
            "-d",
            "--runtime",
            RUNTIME,
            "--annotation",
            "krill.io/wagi=tcp://127.0.0.1:" + port,
            "--annotation",
            "krill.io/wagi-routes=hello",
            image,
            refused,
            "/wagi.wasm");
    assertNotEquals(0, bad.exitCode(), bad.toString());
    assertTrue(bad.stderr().contains("container " + refused), bad.toString());
    assertTrue(bad.stderr().contains("krill.io/wagi-routes"), bad.toString());
    c.ctr("-n", NS, "container", "rm", refused);
    new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close();
    c.assertNoLeaks();
  }
}
