package io.krill.it.cri;

import static io.krill.it.harness.CriCalls.awaitExit;
import static io.krill.it.harness.CriCalls.expectError;
import static io.krill.it.harness.CriCalls.status;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.*;
import io.krill.it.harness.CriClient;
import io.krill.it.harness.KrillCriFixture;
import io.krill.it.harness.KubeApiFront;
import io.krill.it.harness.OciImage;
import io.krill.it.harness.Pod;
import io.krill.it.harness.TestPrograms;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CRI Exec and Attach through krill's streaming server, driven by the real kubectl (client-go's
 * SPDY remote command client, the one crictl uses) by way of {@link KubeApiFront}, which does the
 * API server's and kubelet's part. Output, stdin, exit codes and errors are asserted as kubectl
 * reports them to its user.
 */
class CriStreamingE2ETest {
  @TempDir static Path tmp;
  static KrillCriFixture krill;
  static String progsRef;
  static CriClient cri;
  static KubeApiFront front;
  static String pod;
  static PodSandboxConfig podConfig;

  @BeforeAll
  static void setUp() throws IOException {
    krill = KrillCriFixture.in(tmp).start();
    Map<String, byte[]> progs = new LinkedHashMap<>();
    for (String m : List.of("hello.wasm", "sleep.wasm", "stdin.wasm", "args.wasm", "exit.wasm")) {
      progs.put("/" + m, TestPrograms.bytes(m));
    }
    Path tar =
        OciImage.named("cri/stream:v1")
            .layer(progs)
            .entrypoint("/sleep.wasm", "600")
            .writeTarball(tmp.resolve("progs.tar"));
    progsRef = krill.registry().push(tar, "cri/stream:v1");
    cri = krill.cri();
    krill.pull(progsRef);
    Pod p = krill.runHostPod("stream", tmp.resolve("logs"));
    podConfig = p.config();
    pod = p.id();
    front = new KubeApiFront(cri);
  }

  @AfterAll
  static void tearDown() throws IOException {
    try {
      if (front != null) {
        front.close();
      }
    } finally {
      if (krill != null) {
        krill.close();
      }
    }
  }

  /**
   * A running container in the test pod, known to the front as pod {@code name}, container "app".
   */
  static String run(String name, boolean stdin, String... command) {
    ContainerConfig.Builder cc =
        ContainerConfig.newBuilder()
            .setMetadata(ContainerMetadata.newBuilder().setName(name))
            .setImage(ImageSpec.newBuilder().setImage(progsRef))
            .setLogPath(name + "/0.log")
            .setStdin(stdin)
            .setStdinOnce(stdin)
            .addAllCommand(List.of(command));
    String id =
        cri.runtime()
            .createContainer(
                CreateContainerRequest.newBuilder()
                    .setPodSandboxId(pod)
                    .setConfig(cc)
                    .setSandboxConfig(podConfig)
                    .build())
            .getContainerId();
    cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    front.addPod(name, new KubeApiFront.PodEntry("app", id, stdin));
    return id;
  }

  static KubeApiFront.Kubectl kubectl(byte[] input, String... args) throws Exception {
    return front.kubectl(tmp, input, args);
  }

  @Test
  void kubectlExec_printsOutput_andReturnsTheGuestsExitCode() throws Exception {
    String id = run("execer", false);

    KubeApiFront.Kubectl args =
        kubectl(null, "exec", "execer", "-c", "app", "--", "/args.wasm", "one", "two words");
    assertEquals(0, args.exit(), args.stderr());
    assertTrue(
        args.out().startsWith("arg[0]=/args.wasm\narg[1]=one\narg[2]=two words\n"), args.out());

    KubeApiFront.Kubectl three =
        kubectl(null, "exec", "execer", "-c", "app", "--", "/exit.wasm", "3");
    assertEquals(3, three.exit(), three.stderr());
    assertTrue(three.stderr().contains("command terminated with exit code 3"), three.stderr());

    KubeApiFront.Kubectl missing = kubectl(null, "exec", "execer", "-c", "app", "--", "/nope.wasm");
    assertEquals(1, missing.exit(), missing.stderr());
    assertTrue(
        missing.stderr().contains(id) && missing.stderr().contains("/nope.wasm"), missing.stderr());

    // The container itself is untouched by its execs.
    assertEquals(ContainerState.CONTAINER_RUNNING, status(cri, id).getState());
    // kubectl 1.30+ tries a WebSocket first; krill answers it with 400 and kubectl falls back to
    // SPDY.
    assertTrue(
        front.requests().stream().anyMatch(r -> r.startsWith("POST ") && r.endsWith("/exec")),
        front.requests().toString());
  }

  @Test
  void kubectlExecWithStdin_aMegabyteRoundTripsThroughTheGuest() throws Exception {
    run("cat", false);
    byte[] random = new byte[768 * 1024];
    new Random(42).nextBytes(random);
    byte[] input = Base64.getMimeEncoder().encode(random);
    assertTrue(input.length > 1 << 20);

    KubeApiFront.Kubectl cat =
        kubectl(input, "exec", "-i", "cat", "-c", "app", "--", "/stdin.wasm");
    assertEquals(0, cat.exit(), cat.stderr());
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    expected.write(input);
    expected.write("eof\n".getBytes(StandardCharsets.US_ASCII));
    assertArrayEquals(
        expected.toByteArray(), cat.stdout(), "echoed bytes differ; length " + cat.stdout().length);
  }

  @Test
  void kubectlAttach_streamsOutputAndStdin_andStdinOnceEndsTheGuest() throws Exception {
    String id = run("echo", true, "/stdin.wasm");
    KubeApiFront.Kubectl attach =
        kubectl(
            "hello through attach\n".getBytes(StandardCharsets.UTF_8),
            "attach",
            "-i",
            "echo",
            "-c",
            "app");
    assertEquals(0, attach.exit(), attach.stderr());
    assertTrue(attach.out().contains("hello through attach\n"), attach.out());
    assertTrue(attach.out().endsWith("eof\n"), attach.out());

    ContainerStatus done = awaitExit(cri, id);
    assertEquals(0, done.getExitCode());
    String log = Files.readString(Path.of(done.getLogPath()));
    assertTrue(
        log.contains("stdout F hello through attach\n") && log.contains("stdout F eof\n"), log);

    // Once it has exited there is nothing to attach to, and kubectl says why.
    StatusRuntimeException e =
        expectError(
            () ->
                cri.runtime()
                    .attach(AttachRequest.newBuilder().setContainerId(id).setStdout(true).build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
    assertTrue(
        e.getStatus().getDescription().contains(id + " is not running"),
        e.getStatus().getDescription());
  }

  @Test
  void streamingUrl_servesOneSpdyUpgrade_andRefusesOtherRequestsWithReasons() throws Exception {
    String id = run("urls", false);
    String url =
        cri.runtime()
            .exec(
                ExecRequest.newBuilder()
                    .setContainerId(id)
                    .addCmd("/hello.wasm")
                    .setStdout(true)
                    .build())
            .getUrl();
    assertTrue(url.matches("http://127\\.0\\.0\\.1:\\d+/exec/[A-Za-z0-9_-]{22}"), url);

    Http plain = http(url, "GET", List.of());
    assertEquals(400, plain.status(), plain.text());
    assertTrue(plain.text().contains(id) && plain.text().contains("SPDY/3.1"), plain.text());

    Http unknownProtocol =
        http(
            url,
            "POST",
            List.of(
                "Connection: Upgrade",
                "Upgrade: SPDY/3.1",
                "X-Stream-Protocol-Version: v99.channel.k8s.io"));
    assertEquals(403, unknownProtocol.status(), unknownProtocol.text());
    assertTrue(
        unknownProtocol.head().contains("X-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io"),
        unknownProtocol.head());

    Http upgrade =
        http(
            url,
            "POST",
            List.of(
                "Connection: Upgrade",
                "Upgrade: SPDY/3.1",
                "X-Stream-Protocol-Version: v4.channel.k8s.io",
                "X-Stream-Protocol-Version: v3.channel.k8s.io"));
    assertEquals(101, upgrade.status(), upgrade.head());
    assertTrue(
        upgrade.head().contains("X-Stream-Protocol-Version: v4.channel.k8s.io"), upgrade.head());

    Http again =
        http(
            url,
            "POST",
            List.of(
                "Connection: Upgrade",
                "Upgrade: SPDY/3.1",
                "X-Stream-Protocol-Version: v4.channel.k8s.io"));
    assertEquals(404, again.status(), again.text());
    assertTrue(again.text().contains("serves one connection"), again.text());
  }

  @Test
  void execAttachAndPortForward_badRequestsAreRefusedWithReasons() {
    String id = run("refusals", false);
    StatusRuntimeException ttyAndStderr =
        expectError(
            () ->
                cri.runtime()
                    .exec(
                        ExecRequest.newBuilder()
                            .setContainerId(id)
                            .addCmd("/hello.wasm")
                            .setTty(true)
                            .setStdout(true)
                            .setStderr(true)
                            .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, ttyAndStderr.getStatus().getCode());
    StatusRuntimeException noStreams =
        expectError(
            () ->
                cri.runtime()
                    .exec(
                        ExecRequest.newBuilder().setContainerId(id).addCmd("/hello.wasm").build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, noStreams.getStatus().getCode());
    assertTrue(
        noStreams.getStatus().getDescription().contains(id),
        noStreams.getStatus().getDescription());
    StatusRuntimeException noCommand =
        expectError(
            () ->
                cri.runtime()
                    .exec(ExecRequest.newBuilder().setContainerId(id).setStdout(true).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, noCommand.getStatus().getCode());

    StatusRuntimeException noStdin =
        expectError(
            () ->
                cri.runtime()
                    .attach(
                        AttachRequest.newBuilder()
                            .setContainerId(id)
                            .setStdin(true)
                            .setStdout(true)
                            .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, noStdin.getStatus().getCode());
    assertTrue(
        noStdin.getStatus().getDescription().contains("created without stdin"),
        noStdin.getStatus().getDescription());
    StatusRuntimeException tty =
        expectError(
            () ->
                cri.runtime()
                    .attach(
                        AttachRequest.newBuilder()
                            .setContainerId(id)
                            .setTty(true)
                            .setStdout(true)
                            .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, tty.getStatus().getCode());

    // PortForward is served (CriPortForwardE2ETest): a URL for a known pod, NOT_FOUND otherwise.
    String forward =
        cri.runtime()
            .portForward(PortForwardRequest.newBuilder().setPodSandboxId(pod).addPort(80).build())
            .getUrl();
    assertTrue(
        forward.matches("http://127\\.0\\.0\\.1:\\d+/portforward/[A-Za-z0-9_-]{22}"), forward);
    StatusRuntimeException noPod =
        expectError(
            () ->
                cri.runtime()
                    .portForward(
                        PortForwardRequest.newBuilder()
                            .setPodSandboxId("0000nosuch")
                            .addPort(80)
                            .build()));
    assertEquals(Status.Code.NOT_FOUND, noPod.getStatus().getCode());

    StatusRuntimeException unknown =
        expectError(
            () ->
                cri.runtime()
                    .exec(
                        ExecRequest.newBuilder()
                            .setContainerId("0000nosuch")
                            .addCmd("/hello.wasm")
                            .setStdout(true)
                            .build()));
    assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());
  }

  record Http(int status, String head, String text) {}

  /**
   * One raw HTTP/1.1 request to a streaming URL; the status line, headers and (for errors) the
   * body.
   */
  static Http http(String url, String method, List<String> headers) throws IOException {
    URI u = URI.create(url);
    try (Socket s = new Socket(u.getHost(), u.getPort())) {
      s.setSoTimeout(10_000);
      StringBuilder req =
          new StringBuilder(
              method
                  + " "
                  + u.getRawPath()
                  + " HTTP/1.1\r\nHost: "
                  + u.getHost()
                  + ":"
                  + u.getPort()
                  + "\r\n");
      headers.forEach(h -> req.append(h).append("\r\n"));
      req.append("Content-Length: 0\r\n\r\n");
      s.getOutputStream().write(req.toString().getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        int c = in.read();
        if (c < 0) {
          break;
        }
        head.write(c);
      }
      String h = head.toString(StandardCharsets.ISO_8859_1);
      int status = Integer.parseInt(h.split(" ")[1]);
      String body = status == 101 ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
      return new Http(status, h, body);
    }
  }
}
