package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.it.harness.KubeletProber.Outcome;
import io.krill.it.harness.KubeletProber.Result;
import io.krill.it.harness.KubeletProber.Verdict;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link KubeletProber} against servers on the loopback that answer what a test says. */
class KubeletProberTest {
  private static final String IP = "127.0.0.1";
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private ServerSocket server;

  @AfterEach
  void close() throws IOException {
    if (server != null) {
      server.close();
    }
  }

  /** Serves each connection: reads the request head, then writes what {@code answer} gives. */
  private int serve(Function<String, String> answer) throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getByName(IP));
    Thread t =
        new Thread(
            () -> {
              while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                  String head = head(s.getInputStream());
                  requests.add(head);
                  String a = answer.apply(head);
                  if (a == null) {
                    Thread.sleep(3000); // a hung server
                  } else {
                    s.getOutputStream().write(a.getBytes(StandardCharsets.ISO_8859_1));
                  }
                } catch (IOException | InterruptedException e) {
                  // closed
                }
              }
            });
    t.setDaemon(true);
    t.start();
    return server.getLocalPort();
  }

  private static String head(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    while (!b.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c < 0) {
        break;
      }
      b.write(c);
    }
    return b.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  void httpGet_sendsKubeletsRequest_successUpTo399_bodyCappedAt10KiB() throws Exception {
    String big = "x".repeat(20_000);
    int port = serve(h -> "HTTP/1.1 200 OK\r\nContent-Length: " + big.length() + "\r\n\r\n" + big);
    Outcome o = KubeletProber.httpGet("/healthz?a=b", port).probeOnce(IP);
    assertEquals(Result.SUCCESS, o.result(), o.toString());
    assertEquals(KubeletProber.MAX_BODY, o.output().length());
    assertEquals(
        "GET /healthz?a=b HTTP/1.1\r\nHost: 127.0.0.1:"
            + port
            + "\r\nUser-Agent: kube-probe/"
            + KubeletProber.KUBE_VERSION
            + "\r\nAccept: */*\r\nConnection: close\r\nAccept-Encoding: gzip\r\n\r\n",
        requests.get(0));
  }

  @Test
  void httpGet_statuses() throws Exception {
    int port =
        serve(
            h -> {
              String path = h.split(" ")[1];
              return switch (path) {
                case "/500" ->
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom";
                case "/399" -> "HTTP/1.0 399 Odd\r\n\r\nodd";
                case "/local" -> "HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n";
                case "/away" ->
                    "HTTP/1.1 302 Found\r\nLocation: http://192.0.2.1/\r\nContent-Length: 2\r\n\r\nno";
                case "/chunked" ->
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
                default -> "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
              };
            });
    Outcome failed = KubeletProber.httpGet("/500", port).probeOnce(IP);
    assertEquals(Result.FAILURE, failed.result());
    assertEquals("HTTP probe failed with statuscode: 500", failed.output());
    assertEquals(
        "Readiness probe failed: HTTP probe failed with statuscode: 500",
        failed.event("Readiness"));
    assertEquals(Result.SUCCESS, KubeletProber.httpGet("/399", port).probeOnce(IP).result());
    Outcome local = KubeletProber.httpGet("/local", port).probeOnce(IP);
    assertEquals(Result.SUCCESS, local.result(), local.toString());
    assertEquals("ok", local.output());
    Outcome away = KubeletProber.httpGet("/away", port).probeOnce(IP);
    assertEquals(Result.WARNING, away.result(), away.toString());
    assertEquals("Probe terminated redirects, Response body: no", away.output());
    assertEquals("abcde", KubeletProber.httpGet("/chunked", port).probeOnce(IP).output());
  }

  @Test
  void refusedAndTimedOut_failWithKubeletsText() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(IP))) {
      closed = s.getLocalPort();
    }
    Outcome refused = KubeletProber.httpGet("/", closed).probeOnce(IP);
    assertEquals(
        "Get \"http://127.0.0.1:"
            + closed
            + "/\": dial tcp 127.0.0.1:"
            + closed
            + ": connect: connection refused",
        refused.output());
    Outcome tcpRefused = KubeletProber.tcpSocket(closed).probeOnce(IP);
    assertEquals(
        "dial tcp 127.0.0.1:" + closed + ": connect: connection refused", tcpRefused.output());

    int port = serve(h -> null); // reads the request, never answers
    Outcome hung = KubeletProber.httpGet("/", port).timeoutSeconds(1).probeOnce(IP);
    assertEquals(
        "Get \"http://127.0.0.1:"
            + port
            + "/\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
        hung.output());
    assertTrue(hung.took().compareTo(Duration.ofMillis(950)) >= 0, hung.toString());
    assertEquals(Result.SUCCESS, KubeletProber.tcpSocket(port).probeOnce(IP).result());
  }

  @Test
  void loop_changesResultOnlyAfterItsThreshold() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(IP))) {
      closed = s.getLocalPort();
    }
    Verdict v =
        KubeletProber.tcpSocket(closed)
            .periodSeconds(1)
            .failureThreshold(2)
            .await(IP, Result.FAILURE, Duration.ofSeconds(10));
    assertTrue(v.reached(), v.toString());
    assertEquals(2, v.runs().size(), v.toString());
    Verdict never =
        KubeletProber.tcpSocket(closed).periodSeconds(1).await(IP, Result.SUCCESS, Duration.ZERO);
    assertEquals(false, never.reached());
    assertEquals(1, never.runs().size());
  }
}
