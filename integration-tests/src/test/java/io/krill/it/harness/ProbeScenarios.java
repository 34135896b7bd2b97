package io.krill.it.harness;

import static io.krill.it.harness.KrillTasks.SIGKILL_EXIT;
import static io.krill.it.harness.KrillTasks.SIGTERM_EXIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.krill.cri.api.v1.ContainerConfig;
import io.krill.cri.api.v1.ContainerMetadata;
import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.CreateContainerRequest;
import io.krill.cri.api.v1.StartContainerRequest;
import io.krill.cri.api.v1.StopContainerRequest;
import io.krill.it.harness.KubeletProber.Outcome;
import io.krill.it.harness.KubeletProber.Result;
import io.krill.it.harness.KubeletProber.Verdict;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * kubelet's probes and what it does about them, against one container of a pod with a network of
 * its own, through any CRI runtime (containerd's CRI plugin or {@code krill cri}): readiness and
 * tcpSocket probes after StartContainer, a liveness probe failing {@code failureThreshold} times,
 * the container then stopped with the pod's grace period and a replacement (attempt 1) started in
 * the same sandbox, and a graceful stop as a readiness probe sees it. {@link #wagi} for an
 * instance-per-request container, {@link #listening} for a listening guest.
 */
public final class ProbeScenarios {
  /** The pod's terminationGracePeriodSeconds in these scenarios. */
  public static final int GRACE_SECONDS = 10;

  /** The grace period of a hung listening guest's pod, which kubelet waits out in full. */
  public static final int HUNG_GRACE_SECONDS = 4;

  private static final Duration READY_WITHIN = Duration.ofSeconds(30);
  private static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  private final CriClient cri;
  private final Pod pod;
  private final String ip;
  private final ContainerConfig template;
  private final Supplier<String> diagnostics;
  private final List<String> containers = new ArrayList<>();

  /**
   * @param template the container as kubelet would create it (its name, image, command and
   *     annotations); each attempt gets its own metadata and log path
   * @param diagnostics what to add to a failure (a daemon's log tail)
   */
  public ProbeScenarios(
      CriClient cri,
      Pod pod,
      String podIp,
      ContainerConfig template,
      Supplier<String> diagnostics) {
    this.cri = cri;
    this.pod = pod;
    this.ip = podIp;
    this.template = template;
    this.diagnostics = diagnostics;
  }

  /** The containers the scenario created, oldest first (for the test's teardown). */
  public List<String> containers() {
    return List.copyOf(containers);
  }

  /**
   * A WAGI container ({@code /wagi.wasm} served on {@code port}): readiness (httpGet {@code /echo},
   * tcpSocket) after start; a probe of {@code /trap} fails with status 500 and one of {@code
   * /sleep?ms=3000} with timeoutSeconds 1 times out in about a second, while {@code /echo} still
   * serves; after three such liveness failures StopContainer ends the container with 143 (its
   * requests in flight answered within the grace period), and attempt 1 in the same sandbox is
   * ready again; then StopContainer with {@code /sleep?ms=1500} in flight and a request begun (half
   * of it sent before the stop): readiness and tcpSocket probes are refused at once, the request in
   * flight is answered 200, so is the one begun once its rest comes, exit 143.
   */
  public void wagi(int port) throws Exception {
    KubeletProber readiness = KubeletProber.httpGet("/echo", port).periodSeconds(1);
    String first = start(0);
    awaitReady(readiness, port, "path=/echo\n");

    Outcome trap = KubeletProber.httpGet("/trap", port).probeOnce(ip);
    assertEquals(Result.FAILURE, trap.result(), trap.toString());
    assertEquals("HTTP probe failed with statuscode: 500", trap.output());

    String sleepUrl = "http://" + ip + ":" + port + "/sleep?ms=3000";
    KubeletProber liveness =
        KubeletProber.httpGet("/sleep?ms=3000", port)
            .timeoutSeconds(1)
            .periodSeconds(1)
            .failureThreshold(3);
    Verdict dead = liveness.await(ip, Result.FAILURE, Duration.ofSeconds(20));
    assertTrue(dead.reached(), "liveness never failed: " + dead + diagnostics.get());
    assertEquals(3, dead.runs().size(), dead.toString());
    for (Outcome o : dead.runs()) {
      assertEquals(
          "Get \""
              + sleepUrl
              + "\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
          o.output(),
          dead.toString());
      assertProbeEndedAtItsTimeout(liveness, o);
    }
    // the container serves its other routes all along: only the slow one fails
    Outcome echo = readiness.probeOnce(ip);
    assertTrue(echo.ok(), "/echo while /sleep times out: " + echo);

    // kubelet: "Container web failed liveness probe, will be restarted"
    Stopped killed = stop(first, GRACE_SECONDS);
    assertEquals(SIGTERM_EXIT, killed.status().getExitCode(), killed.toString());
    String second = start(1);
    awaitReady(readiness, port, "path=/echo\n");

    // graceful stop as kubelet's probes see it, with a request in flight, and one begun: a client
    // the server accepted before the stop, the rest of whose request comes after it (as the
    // listening guest serves such a request, below)
    CompletableFuture<HttpResponse<String>> inFlight =
        HTTP.sendAsync(
            HttpRequest.newBuilder(URI.create("http://" + ip + ":" + port + "/sleep?ms=1500"))
                .timeout(Duration.ofSeconds(30))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    try (Socket begun = halfRequest(port)) { // the instance of /sleep runs meanwhile
      CompletableFuture<Stopped> stopping =
          CompletableFuture.supplyAsync(() -> stop(second, GRACE_SECONDS));
      assertRefusedWhile(readiness, port, inFlight::isDone, "the request in flight was answered");
      begun.getOutputStream().write("TP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      String reply = new String(begun.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertTrue(
          reply.startsWith("HTTP/1.1 200 OK\r\n"), "the request begun before the stop: " + reply);
      assertTrue(reply.contains("\r\nconnection: close\r\n"), reply);
      assertTrue(reply.contains("path=/\n"), reply);
      HttpResponse<String> answered = inFlight.get(30, TimeUnit.SECONDS);
      assertEquals(200, answered.statusCode(), answered.body());
      assertTrue(answered.body().contains("path=/sleep\n"), answered.body());
      Stopped drained = stopping.get(60, TimeUnit.SECONDS);
      assertEquals(SIGTERM_EXIT, drained.status().getExitCode(), drained.toString());
    }
  }

  /**
   * A listening guest ({@code serve.wasm}, one connection at a time, on {@code port}): readiness
   * (httpGet, tcpSocket) after start; a client that sends half a request hangs the guest, so the
   * httpGet liveness probe times out three times (while a tcpSocket probe still connects: the
   * kernel's backlog accepts), and StopContainer ends it with 137 after the grace period ({@link
   * #HUNG_GRACE_SECONDS}) (the guest never gets back to {@code accept}); attempt 1 in the same
   * sandbox binds the port again and is ready; then StopContainer with a request in flight: probes
   * are refused at once, the request is answered, exit 143.
   */
  public void listening(int port) throws Exception {
    KubeletProber readiness = KubeletProber.httpGet("/healthz", port).periodSeconds(1);
    String first = start(0);
    awaitReady(readiness, port, "hello\n");

    String url = "http://" + ip + ":" + port + "/healthz";
    KubeletProber liveness =
        KubeletProber.httpGet("/healthz", port).timeoutSeconds(1).periodSeconds(1);
    Stopped killed;
    try (Socket hang = halfRequest(port)) {
      Verdict dead = liveness.await(ip, Result.FAILURE, Duration.ofSeconds(20));
      assertTrue(dead.reached(), "liveness never failed: " + dead + diagnostics.get());
      assertEquals(3, dead.runs().size(), dead.toString());
      for (Outcome o : dead.runs()) {
        assertEquals(
            "Get \""
                + url
                + "\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
            o.output(),
            dead.toString());
        assertProbeEndedAtItsTimeout(liveness, o);
      }
      Outcome tcp = KubeletProber.tcpSocket(port).probeOnce(ip);
      assertTrue(tcp.ok(), "tcpSocket on a hung guest: " + tcp);

      killed = stop(first, HUNG_GRACE_SECONDS);
    }
    assertEquals(SIGKILL_EXIT, killed.status().getExitCode(), killed.toString());
    assertTrue(
        killed.took().compareTo(Duration.ofSeconds(HUNG_GRACE_SECONDS - 1)) >= 0,
        "killed before the grace period was over: " + killed);
    String second = start(1);
    awaitReady(readiness, port, "hello\n");

    try (Socket inFlight = halfRequest(port)) {
      CompletableFuture<Stopped> stopping =
          CompletableFuture.supplyAsync(() -> stop(second, GRACE_SECONDS));
      assertRefusedWhile(readiness, port, stopping::isDone, "the container exited");
      inFlight.getOutputStream().write("TP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      String reply =
          new String(inFlight.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertTrue(reply.startsWith("HTTP/1.1 200 OK\r\n"), reply);
      assertTrue(reply.endsWith("\r\n\r\nhello\n"), reply);
      Stopped drained = stopping.get(60, TimeUnit.SECONDS);
      assertEquals(SIGTERM_EXIT, drained.status().getExitCode(), drained.toString());
    }
  }

  /**
   * Creates and starts attempt {@code attempt} of the template container, as kubelet does (its log
   * directory made first).
   */
  public String start(int attempt) throws IOException {
    String name = template.getMetadata().getName();
    if (!pod.config().getLogDirectory().isEmpty()) {
      Files.createDirectories(Path.of(pod.config().getLogDirectory(), name));
    }
    ContainerConfig cfg =
        template.toBuilder()
            .setMetadata(ContainerMetadata.newBuilder().setName(name).setAttempt(attempt))
            .setLogPath(name + "/" + attempt + ".log")
            .build();
    String id =
        cri.runtime()
            .createContainer(
                CreateContainerRequest.newBuilder()
                    .setPodSandboxId(pod.id())
                    .setConfig(cfg)
                    .setSandboxConfig(pod.config())
                    .build())
            .getContainerId();
    containers.add(id);
    cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    return id;
  }

  /** A StopContainer and its container's status once exited. */
  public record Stopped(ContainerStatus status, Duration took) {
    @Override
    public String toString() {
      return "stopped in " + took.toMillis() + " ms: " + status;
    }
  }

  /**
   * StopContainer with the pod's grace period, as kubelet kills a container; waits for its exit.
   */
  public Stopped stop(String id, int graceSeconds) {
    long start = System.nanoTime();
    cri.runtime()
        .stopContainer(
            StopContainerRequest.newBuilder().setContainerId(id).setTimeout(graceSeconds).build());
    ContainerStatus s = CriCalls.awaitExit(cri, id);
    Stopped stopped = new Stopped(s, Duration.ofNanos(System.nanoTime() - start));
    System.out.println(
        "container "
            + id
            + " (grace "
            + graceSeconds
            + " s) exited "
            + s.getExitCode()
            + ", "
            + stopped.took().toMillis()
            + " ms");
    return stopped;
  }

  /** Readiness after a start: httpGet and tcpSocket both succeed. */
  private void awaitReady(KubeletProber readiness, int port, String body) throws Exception {
    Verdict ready = readiness.await(ip, Result.SUCCESS, READY_WITHIN);
    assertTrue(ready.reached(), "never ready: " + ready + diagnostics.get());
    assertTrue(ready.last().output().contains(body), ready.toString());
    Verdict tcp =
        KubeletProber.tcpSocket(port).periodSeconds(1).await(ip, Result.SUCCESS, READY_WITHIN);
    assertTrue(tcp.reached(), "tcpSocket never succeeded: " + tcp + diagnostics.get());
  }

  /**
   * Runs readiness probes after StopContainer (every 50 ms, faster than kubelet, to catch the
   * moment) until one is refused, which must happen before {@code over} holds; a tcpSocket probe is
   * then refused too. Before the first refusal a probe may still succeed (the stop has not reached
   * the guest) or, having connected while the listening socket was open, be reset or time out: the
   * kernel resets the connections queued on a listening socket when it is closed, as it does for
   * any server that stops listening (a single-threaded guest busy with the request in flight leaves
   * the probe's connection queued). A success after a failure fails the test.
   */
  private void assertRefusedWhile(
      KubeletProber readiness, int port, Supplier<Boolean> over, String what) throws Exception {
    String refused = "dial tcp " + ip + ":" + port + ": connect: connection refused";
    String get = "Get \"http://" + ip + ":" + port + "/" + pathOf(readiness) + "\": ";
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    List<Outcome> seen = new ArrayList<>();
    boolean failed = false;
    while (true) {
      Outcome http = readiness.probeOnce(ip);
      seen.add(http);
      if (http.output().equals(get + refused)) {
        System.out.println("probes after StopContainer: " + seen);
        assertFalse(over.get(), what + " before a probe was refused: " + seen);
        Outcome tcp = KubeletProber.tcpSocket(port).probeOnce(ip);
        assertEquals(Result.FAILURE, tcp.result(), tcp.toString());
        assertEquals(refused, tcp.output());
        return;
      }
      if (http.ok()) {
        assertFalse(failed, "a probe succeeded after one failed: " + seen);
      } else {
        failed = true;
        assertTrue(
            http.output()
                    .matches(Pattern.quote(get) + "read tcp \\S+: read: connection reset by peer")
                || http.output().endsWith("(Client.Timeout exceeded while awaiting headers)"),
            "readiness during the grace period: " + seen);
      }
      if (over.get() || System.nanoTime() > deadline) {
        fail("no probe refused after StopContainer: " + seen + diagnostics.get());
      }
      Thread.sleep(50);
    }
  }

  private static String pathOf(KubeletProber p) {
    return ((KubeletProber.HttpGet) p.action()).path().substring(1);
  }

  /** A connection the guest has accepted and waits on: half a request line. */
  private Socket halfRequest(int port) throws IOException, InterruptedException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress(ip, port), 5000);
    s.setSoTimeout(60_000);
    OutputStream out = s.getOutputStream();
    out.write("GET / HT".getBytes(StandardCharsets.US_ASCII));
    out.flush();
    Thread.sleep(300); // the guest takes it from the backlog
    return s;
  }

  /** A run that failed on its timeout ended at it: not before, and not long after. */
  private static void assertProbeEndedAtItsTimeout(KubeletProber probe, Outcome o) {
    Duration t = probe.timeout();
    assertTrue(o.took().compareTo(t.minusMillis(50)) >= 0, "ended before its timeout: " + o);
    assertTrue(o.took().compareTo(t.plusMillis(500)) <= 0, "hung past its timeout: " + o);
  }
}
