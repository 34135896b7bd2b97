package io.krill.it.cri;

import static io.krill.it.harness.CriCalls.expectError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.*;
import io.krill.it.harness.CriCalls;
import io.krill.it.harness.CriClient;
import io.krill.it.harness.CriConfig;
import io.krill.it.harness.Host;
import io.krill.it.harness.KrillCriFixture;
import io.krill.it.harness.KubeApiFront;
import io.krill.it.harness.OciImage;
import io.krill.it.harness.SpdyClient;
import io.krill.it.harness.TestPrograms;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CRI PortForward through krill's streaming server: a pod with a network namespace of its own (CNI
 * bridge) whose guest listens on 8080 ({@code krill.io/listen}, {@code /serve.wasm}, which answers
 * every request with "hello"), and a host-network pod whose guest listens on the node's loopback.
 * Driven by the real kubectl (client-go's port forward client, the one crictl uses) by way of
 * {@link KubeApiFront}, and by {@link SpdyClient} for what kubectl does not do on one connection: a
 * stream pair that fails followed by one that works.
 */
class CriPortForwardE2ETest {
  private static final String PROTOCOL = "portforward.k8s.io";
  private static final String REQUEST = "GET /ready HTTP/1.1\r\nHost: pod\r\n\r\n";

  @TempDir static Path tmp;
  static String bridge;
  static KrillCriFixture krill;
  static CriClient cri;
  static KubeApiFront front;
  static String pod;
  static String image;

  @BeforeAll
  static void setUp() throws Exception {
    bridge =
        "krpf" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 8);
    String prefix =
        "10."
            + (200 + ThreadLocalRandom.current().nextInt(8))
            + "."
            + ThreadLocalRandom.current().nextInt(256);
    Path cni = Files.createDirectories(tmp.resolve("cni"));
    Files.writeString(
        cni.resolve("10-krill.conflist"),
        CriConfig.cniConflist(bridge, bridge, prefix + ".0/24", tmp.resolve("ipam")));
    krill = KrillCriFixture.in(tmp).cniConfDir(cni).start();
    cri = krill.cri();
    Path tar =
        OciImage.named("cri/serve:v1")
            .layer(Map.of("/serve.wasm", TestPrograms.bytes("serve.wasm")))
            .entrypoint("/serve.wasm")
            .writeTarball(tmp.resolve("serve.tar"));
    image = krill.registry().push(tar, "cri/serve:v1");
    krill.pull(image);
    PodSandboxConfig config =
        PodSandboxConfig.newBuilder()
            .setMetadata(
                PodSandboxMetadata.newBuilder()
                    .setName("web")
                    .setNamespace("default")
                    .setUid("uid-web"))
            .setLogDirectory(Files.createDirectories(tmp.resolve("logs")).toString())
            .putAnnotations("krill.io/listen", "tcp://0.0.0.0:8080")
            .build();
    pod = krill.runPod(config).id();
    String id = startServe(pod, config);
    front = new KubeApiFront(cri);
    front.addPod("web", new KubeApiFront.PodEntry("serve", id, false, pod));
  }

  @AfterAll
  static void tearDown() throws IOException {
    try {
      if (front != null) {
        front.close();
      }
    } finally {
      try {
        if (krill != null) {
          krill.close();
        }
      } finally {
        // The bridge plugin never deletes the bridge it made.
        Host.run("ip", "link", "del", bridge);
      }
    }
  }

  @Test
  void kubectlPortForward_reachesTheListeningGuest_twoConnectionsOnOneSession() throws Exception {
    Path out = tmp.resolve("pf-ok.out");
    Path err = tmp.resolve("pf-ok.err");
    int before = front.requests().size();
    Process kubectl =
        front.startKubectl(tmp, out, err, "port-forward", "--address", "127.0.0.1", "web", ":8080");
    try {
      int local = forwardingPort(kubectl, out, err);
      for (int i = 0; i < 2; i++) {
        String answer = httpGet(local);
        assertTrue(answer.startsWith("HTTP/1.1 200 OK\r\n"), answer);
        assertTrue(answer.endsWith("\r\n\r\nhello\n"), answer);
      }
      assertTrue(kubectl.isAlive(), Files.readString(err));
      // One upgraded session carried both connections (kubectl 1.30+ tries a WebSocket first,
      // which krill refuses with 400, and falls back to SPDY).
      List<String> requests = front.requests().subList(before, front.requests().size());
      long spdy =
          requests.stream()
              .filter(r -> r.equals("POST /api/v1/namespaces/default/pods/web/portforward"))
              .count();
      assertEquals(1, spdy, requests.toString());
    } finally {
      stop(kubectl);
    }
  }

  @Test
  void kubectlPortForward_toAPortNothingListensOn_reportsThePodAndPort() throws Exception {
    Path out = tmp.resolve("pf-none.out");
    Path err = tmp.resolve("pf-none.err");
    Process kubectl =
        front.startKubectl(tmp, out, err, "port-forward", "--address", "127.0.0.1", "web", ":9");
    try {
      int local = forwardingPort(kubectl, out, err);
      try (Socket s = new Socket("127.0.0.1", local)) {
        s.setSoTimeout(20_000);
        s.getOutputStream().write(REQUEST.getBytes(StandardCharsets.US_ASCII));
        assertEquals(0, s.getInputStream().readAllBytes().length);
      }
      // client-go ends the whole session when a connection reports an error.
      assertTrue(kubectl.waitFor(30, TimeUnit.SECONDS), Files.readString(err));
      String stderr = Files.readString(err);
      assertTrue(
          stderr.contains("error forwarding port 9 to pod " + pod)
              && stderr.contains("localhost:9"),
          stderr);
    } finally {
      stop(kubectl);
    }
  }

  @Test
  void oneSpdySession_carriesConnectionsInSequence_andSurvivesARefusedPort() throws Exception {
    String url =
        cri.runtime()
            .portForward(PortForwardRequest.newBuilder().setPodSandboxId(pod).addPort(8080).build())
            .getUrl();
    assertTrue(url.matches("http://127\\.0\\.0\\.1:\\d+/portforward/[A-Za-z0-9_-]{22}"), url);
    try (SpdyClient spdy = SpdyClient.upgrade(url, PROTOCOL)) {
      assertTrue(spdy.head().contains("X-Stream-Protocol-Version: " + PROTOCOL), spdy.head());

      assertEquals("hello\n", body(forward(spdy, 8080, "0", true)));

      int error = spdy.open(headers("error", 9, "1"));
      int data = spdy.open(headers("data", 9, "1"));
      String refused =
          new String(spdy.readToEnd(error, Duration.ofSeconds(20)), StandardCharsets.UTF_8);
      assertTrue(
          refused.contains("error forwarding port 9 to pod " + pod)
              && refused.contains("localhost:9"),
          refused);
      assertEquals(0, spdy.readToEnd(data, Duration.ofSeconds(20)).length);

      assertEquals("hello\n", body(forward(spdy, 8080, "2", true)));
      // An old client without request ids: the server pairs the streams by their ids.
      assertEquals("hello\n", body(forward(spdy, 8080, null, false)));
      assertFalse(spdy.ended(), "the session ended after its connections");
    }
  }

  @Test
  void portForward_unknownPod_isNotFound_andTheUrlWantsItsProtocol() throws Exception {
    StatusRuntimeException unknown =
        expectError(
            () ->
                cri.runtime()
                    .portForward(
                        PortForwardRequest.newBuilder()
                            .setPodSandboxId("0000nosuch")
                            .addPort(8080)
                            .build()));
    assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());
    assertTrue(
        unknown.getStatus().getDescription().contains("0000nosuch"),
        unknown.getStatus().getDescription());

    String url =
        cri.runtime()
            .portForward(PortForwardRequest.newBuilder().setPodSandboxId(pod).build())
            .getUrl();
    IOException refused =
        org.junit.jupiter.api.Assertions.assertThrows(
            IOException.class, () -> SpdyClient.upgrade(url, "v4.channel.k8s.io"));
    assertTrue(
        refused.getMessage().contains("403")
            && refused.getMessage().contains("X-Accepted-Stream-Protocol-Versions: " + PROTOCOL),
        refused.getMessage());
  }

  /**
   * The WebSocket variant ({@code v4.channel.k8s.io}): the port named in the PortForward call on
   * channels 0 (data) and 1 (error), each opened with the port; the WebSocket closes once the guest
   * has answered and closed its end.
   */
  @Test
  void webSocketPortForward_reachesTheGuest_andClosesWithIt() throws Exception {
    String url =
        cri.runtime()
            .portForward(PortForwardRequest.newBuilder().setPodSandboxId(pod).addPort(8080).build())
            .getUrl();
    java.util.concurrent.BlockingQueue<byte[]> messages =
        new java.util.concurrent.LinkedBlockingQueue<>();
    java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
    java.io.ByteArrayOutputStream part = new java.io.ByteArrayOutputStream();
    java.net.http.WebSocket ws =
        java.net.http.HttpClient.newHttpClient()
            .newWebSocketBuilder()
            .subprotocols("v4.channel.k8s.io")
            .buildAsync(
                java.net.URI.create(url.replace("http://", "ws://")),
                new java.net.http.WebSocket.Listener() {
                  @Override
                  public java.util.concurrent.CompletionStage<?> onBinary(
                      java.net.http.WebSocket w, java.nio.ByteBuffer data, boolean last) {
                    byte[] b = new byte[data.remaining()];
                    data.get(b);
                    part.writeBytes(b);
                    if (last) {
                      messages.add(part.toByteArray());
                      part.reset();
                    }
                    w.request(1);
                    return null;
                  }

                  @Override
                  public java.util.concurrent.CompletionStage<?> onClose(
                      java.net.http.WebSocket w, int status, String reason) {
                    closed.countDown();
                    return null;
                  }
                })
            .join();
    // 8080 = 0x1f90, little-endian after the channel byte.
    assertEquals("00901f", HexFormat.of().formatHex(messages.poll(20, TimeUnit.SECONDS)));
    assertEquals("01901f", HexFormat.of().formatHex(messages.poll(20, TimeUnit.SECONDS)));
    byte[] request = ("\0" + REQUEST).getBytes(StandardCharsets.US_ASCII);
    ws.sendBinary(java.nio.ByteBuffer.wrap(request), true).get(20, TimeUnit.SECONDS);
    assertTrue(closed.await(20, TimeUnit.SECONDS), "the WebSocket stayed open: " + messages);
    StringBuilder data = new StringBuilder();
    for (byte[] m : messages) {
      assertEquals(0, m[0], "only the data channel carries anything: " + new String(m));
      data.append(new String(m, 1, m.length - 1, StandardCharsets.UTF_8));
    }
    assertEquals("hello\n", body(data.toString()));
  }

  @Test
  void hostNetworkPod_forwardsToLocalhostInTheDaemonsNamespace() throws Exception {
    int port;
    try (java.net.ServerSocket free =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      port = free.getLocalPort();
    }
    PodSandboxConfig config =
        CriCalls.hostPod("hostweb", Files.createDirectories(tmp.resolve("host-logs"))).toBuilder()
            .putAnnotations("krill.io/listen", "tcp://127.0.0.1:" + port)
            .build();
    String hostPod = krill.runPod(config).id();
    startServe(hostPod, config);
    String url =
        cri.runtime()
            .portForward(PortForwardRequest.newBuilder().setPodSandboxId(hostPod).build())
            .getUrl();
    try (SpdyClient spdy = SpdyClient.upgrade(url, PROTOCOL)) {
      assertEquals("hello\n", body(forward(spdy, port, "0", true)));
    }
  }

  /** Creates and starts the {@code /serve.wasm} container in {@code podId}; returns its id. */
  private static String startServe(String podId, PodSandboxConfig config) {
    String id =
        cri.runtime()
            .createContainer(
                CreateContainerRequest.newBuilder()
                    .setPodSandboxId(podId)
                    .setSandboxConfig(config)
                    .setConfig(
                        ContainerConfig.newBuilder()
                            .setMetadata(ContainerMetadata.newBuilder().setName("serve"))
                            .setImage(ImageSpec.newBuilder().setImage(image))
                            .setLogPath("serve.log"))
                    .build())
            .getContainerId();
    cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    return id;
  }

  /**
   * One forwarded connection: opens its error and data streams, sends {@link #REQUEST}, and returns
   * what came back on the data stream; the error stream must end empty.
   */
  private static String forward(SpdyClient spdy, int port, String requestId, boolean finishError)
      throws IOException {
    int error = spdy.open(headers("error", port, requestId));
    if (finishError) {
      spdy.finish(error);
    }
    int data = spdy.open(headers("data", port, requestId));
    spdy.write(data, REQUEST.getBytes(StandardCharsets.US_ASCII));
    String answer =
        new String(spdy.readToEnd(data, Duration.ofSeconds(20)), StandardCharsets.UTF_8);
    assertEquals("", new String(spdy.readToEnd(error, Duration.ofSeconds(20))), answer);
    assertTrue(spdy.replied(error) && spdy.replied(data));
    return answer;
  }

  private static Map<String, String> headers(String type, int port, String requestId) {
    return requestId == null
        ? Map.of("streamtype", type, "port", Integer.toString(port))
        : Map.of("streamtype", type, "port", Integer.toString(port), "requestid", requestId);
  }

  private static String body(String answer) {
    assertTrue(answer.startsWith("HTTP/1.1 200 OK\r\n"), answer);
    return answer.substring(answer.indexOf("\r\n\r\n") + 4);
  }

  private static String httpGet(int port) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(20_000);
      s.getOutputStream().write(REQUEST.getBytes(StandardCharsets.US_ASCII));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** The local port kubectl reports ("Forwarding from 127.0.0.1:N -> P"). */
  private static int forwardingPort(Process kubectl, Path out, Path err) throws Exception {
    Pattern forwarding = Pattern.compile("Forwarding from 127\\.0\\.0\\.1:(\\d+) ->");
    for (int i = 0; i < 300; i++) {
      Matcher m = forwarding.matcher(Files.readString(out));
      if (m.find()) {
        return Integer.parseInt(m.group(1));
      }
      if (!kubectl.isAlive()) {
        break;
      }
      Thread.sleep(100);
    }
    fail("kubectl port-forward never listened: " + Files.readString(out) + Files.readString(err));
    return -1;
  }

  private static void stop(Process p) throws InterruptedException {
    p.destroy();
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor();
    }
  }
}
