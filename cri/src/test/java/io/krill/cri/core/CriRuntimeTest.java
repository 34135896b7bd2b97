package io.krill.cri.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.cri.container.ContainerEvent;
import io.krill.cri.container.ContainerSecurity;
import io.krill.cri.container.ContainerView;
import io.krill.cri.container.CriContainer;
import io.krill.cri.container.ExecSession;
import io.krill.cri.container.NewContainer;
import io.krill.cri.pod.Pod;
import io.krill.cri.pod.PodRequest;
import io.krill.cri.streaming.ForwardRequest;
import io.krill.cri.streaming.Session.Outcome;
import io.krill.cri.streaming.StreamRequest;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class CriRuntimeTest {
  @TempDir Path tmp;
  CriFixture f;
  CriRuntime runtime;

  @BeforeEach
  void setUp() throws Exception {
    f = new CriFixture(tmp);
    runtime = f.runtime;
  }

  @AfterEach
  void tearDown() throws Exception {
    f.close();
  }

  @Test
  void lifecycle_runCreateStartExecStopRemove_reportsEachState() throws Exception {
    List<ContainerEvent.Kind> events = new CopyOnWriteArrayList<>();
    runtime.subscribe(e -> events.add(e.kind()));
    Pod pod = f.runHostPod("web");
    assertTrue(runtime.pod(pod.id()).ready());

    String id = runtime.createContainer(f.container(pod.id(), "app"));
    assertEquals(ContainerView.State.CREATED, runtime.container(id).state());
    runtime.startContainer(id.substring(0, 12));
    ContainerView running = runtime.container(id);
    assertEquals(ContainerView.State.RUNNING, running.state());
    assertTrue(running.container().startedAtNanos() > 0);
    assertEquals(tmp.resolve("logs/app.log").toString(), running.container().logPath());
    CriFixture.eventually(
        "the guest's output is in the CRI log", () -> f.log("app").contains(" stdout F serving\n"));

    ExecSession.Result r = runtime.execSync(id, List.of("/app.wat", "print", "ok"), 10);
    assertEquals(0, r.exitCode());
    assertArrayEquals("ok".getBytes(StandardCharsets.UTF_8), r.stdout());
    assertEquals(0, r.stderr().length);

    runtime.stopContainer(id, 10);
    ContainerView exited = runtime.container(id);
    assertEquals(ContainerView.State.EXITED, exited.state());
    assertEquals(143, exited.container().exitCode(), "128 + SIGTERM");
    assertEquals("Error", exited.container().reason());
    assertTrue(exited.container().finishedAtNanos() >= exited.container().startedAtNanos());

    runtime.removeContainer(id);
    assertEquals(List.of(), runtime.containers());
    assertFalse(Files.exists(tmp.resolve("containers").resolve(id)), "the bundle is gone");
    CriFixture.eventually("every event arrived", () -> events.size() == 4);
    assertEquals(
        List.of(
            ContainerEvent.Kind.CREATED,
            ContainerEvent.Kind.STARTED,
            ContainerEvent.Kind.STOPPED,
            ContainerEvent.Kind.DELETED),
        events);

    runtime.stopPod(pod.id());
    assertFalse(runtime.pod(pod.id()).ready());
    runtime.removePod(pod.id());
    assertEquals(List.of(), runtime.pods());
    runtime.removePod(pod.id());
  }

  @Test
  void execSync_failingCommand_capturesStderrAndExitCode() throws Exception {
    String id = started("app");
    ExecSession.Result r = runtime.execSync(id, List.of("/app.wat", "fail", "bad input", "3"), 10);
    assertEquals(3, r.exitCode());
    assertEquals("bad input", new String(r.stderr(), StandardCharsets.UTF_8));
    assertEquals(0, r.stdout().length);
    assertEquals(List.of(), tasksExecFiles(id), "the capture files are removed");
  }

  /**
   * As containerd: an exec runs with the container's environment (HOSTNAME, the image's and the
   * container's variables), not an empty one (critest's "should support set hostname").
   */
  @Test
  void execSync_runsWithTheContainersEnvironment() throws Exception {
    String id = started("app");
    ExecSession.Result r = runtime.execSync(id, List.of("/app.wat", "env"), 10);
    assertEquals(0, r.exitCode());
    List<String> env = List.of(new String(r.stdout(), StandardCharsets.UTF_8).split("\n"));
    assertTrue(env.contains("HOSTNAME=web-app"), "the pod's host name: " + env);
    assertTrue(env.contains("PATH=/"), "the image's variable: " + env);
    assertTrue(env.contains("A=1"), "the container's variable: " + env);
  }

  /** StopContainer is idempotent: a container that does not exist is no error, as in containerd. */
  @Test
  void stopContainer_unknownContainer_noError() {
    runtime.stopContainer("0123456789abcdef", 0);
    runtime.stopContainer("0123456789abcdef", 0);
  }

  @Test
  void execSync_outlivesTimeout_killedAndDeadlineError() throws Exception {
    String id = started("app");
    assertThrows(
        ExecSession.Timeout.class, () -> runtime.execSync(id, List.of("/app.wat", "serve"), 1));
    assertEquals(
        ContainerView.State.RUNNING, runtime.container(id).state(), "only the exec is killed");
  }

  @Test
  void execSync_noCommand_invalidArgument() throws Exception {
    String id = started("app");
    assertEquals(ErrorCode.INVALID_ARGUMENT, code(() -> runtime.execSync(id, List.of(), 0)));
  }

  @Test
  void execSession_streamed_sameCommandAsCaptured_outputGoesToClientStreams() throws Exception {
    String id = started("app");
    StreamRequest ok =
        runtime.exec(id, List.of("/app.wat", "print", "streamed"), false, true, true, false);
    assertEquals(StreamRequest.Kind.EXEC, ok.kind());
    assertEquals(id, ok.containerId());
    TestStreams s = new TestStreams(null);
    assertEquals(new Outcome.Success(), ok.session().run(s));
    assertEquals("streamed", s.out.toString(StandardCharsets.UTF_8));

    StreamRequest failing =
        runtime.exec(id, List.of("/app.wat", "fail", "oops", "4"), false, true, true, false);
    TestStreams e = new TestStreams(null);
    assertEquals(new Outcome.Exited(4), failing.session().run(e));
    assertEquals("oops", e.err.toString(StandardCharsets.UTF_8));
    assertEquals(List.of(), tasksExecFiles(id), "the FIFOs are removed");
  }

  @Test
  void execSession_streamedWithStdin_guestReadsClientInputToItsEnd() throws Exception {
    String id = started("app");
    StreamRequest cat = runtime.exec(id, List.of("/app.wat", "cat"), true, true, false, false);
    TestStreams s = new TestStreams("line one\nline two\n");
    assertEquals(new Outcome.Success(), cat.session().run(s));
    assertEquals("line one\nline two\n", s.out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void execSession_streamedModuleMissing_failedOutcomeNamesContainer() throws Exception {
    String id = started("app");
    StreamRequest bad = runtime.exec(id, List.of("/missing.wasm"), false, true, false, false);
    var outcome = bad.session().run(new TestStreams(null));
    assertTrue(
        outcome instanceof Outcome.Failed failed && failed.message().contains(id),
        outcome.toString());
  }

  @Test
  void exec_containerNotRunning_failedPrecondition() throws Exception {
    Pod pod = f.runHostPod("web");
    String id = runtime.createContainer(f.container(pod.id(), "app"));
    KrillException e =
        assertThrows(
            KrillException.class,
            () -> runtime.exec(id, List.of("/app.wat"), false, true, false, false));
    assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
    assertTrue(
        e.getMessage().contains(id) && e.getMessage().contains("not running"), e.getMessage());
  }

  @Test
  void attach_tty_invalidArgument_stdinWithoutStdin_invalidArgument() throws Exception {
    String id = started("app");
    assertEquals(
        ErrorCode.INVALID_ARGUMENT, code(() -> runtime.attach(id, false, true, false, true)));
    KrillException e =
        assertThrows(KrillException.class, () -> runtime.attach(id, true, true, false, false));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(e.getMessage().contains("created without stdin"), e.getMessage());
    assertEquals(StreamRequest.Kind.ATTACH, runtime.attach(id, false, true, true, false).kind());
  }

  @Test
  void createContainer_tty_invalidArgumentNamingContainer() {
    Pod pod = f.runHostPod("web");
    KrillException e =
        assertThrows(
            KrillException.class,
            () -> runtime.createContainer(f.container(pod.id(), "shell", List.of(), true)));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(
        e.getMessage().contains("container shell") && e.getMessage().contains("tty"),
        e.getMessage());
    assertEquals(List.of(), runtime.containers());
  }

  @Test
  void createContainer_podStoppedOrUnknown_refused() {
    Pod pod = f.runHostPod("web");
    runtime.stopPod(pod.id());
    KrillException stopped =
        assertThrows(
            KrillException.class, () -> runtime.createContainer(f.container(pod.id(), "app")));
    assertEquals(ErrorCode.FAILED_PRECONDITION, stopped.code());
    assertTrue(
        stopped.getMessage().contains("default/web") && stopped.getMessage().contains("app"),
        stopped.getMessage());
    assertEquals(
        ErrorCode.NOT_FOUND, code(() -> runtime.createContainer(f.container("feedface", "app"))));
  }

  @Test
  void createContainer_imageNotPulled_notFound() {
    Pod pod = f.runHostPod("web");
    var req = f.container(pod.id(), "app");
    var other =
        new NewContainer(
            req.podId(),
            req.name(),
            0,
            "registry.test/other:1",
            List.of(),
            List.of(),
            "",
            List.of(),
            List.of(),
            Map.of(),
            Map.of(),
            "",
            "",
            0,
            false,
            false,
            false,
            null);
    assertEquals(ErrorCode.NOT_FOUND, code(() -> runtime.createContainer(other)));
  }

  @Test
  void createContainer_noLogDirectory_noLogPath() {
    Pod pod =
        runtime.runPod(
            new PodRequest(
                "quiet", "u", "default", 0, null, null, true, "", "", "quiet", null, null));
    String id = runtime.createContainer(f.container(pod.id(), "app"));
    assertEquals("", runtime.container(id).container().logPath());
  }

  @Test
  void runPod_needsNetworkWithoutCni_failedPreconditionAndNothingLeft() {
    var req = f.hostPod("net");
    var withNetwork =
        new PodRequest(
            req.name(),
            req.uid(),
            req.namespace(),
            0,
            null,
            null,
            false,
            "",
            "",
            "net",
            null,
            null);
    KrillException e = assertThrows(KrillException.class, () -> runtime.runPod(withNetwork));
    assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
    assertTrue(e.getMessage().contains("needs a pod network"), e.getMessage());
    assertEquals(List.of(), runtime.pods());
    assertTrue(runtime.networkNotReadyBecause().isPresent());
  }

  @Test
  void runPod_noName_invalidArgument() {
    var req = f.hostPod("");
    assertEquals(ErrorCode.INVALID_ARGUMENT, code(() -> runtime.runPod(req)));
  }

  @Test
  void container_unknown_notFound_removeUnknown_succeeds() {
    assertEquals(ErrorCode.NOT_FOUND, code(() -> runtime.container("nope")));
    runtime.removeContainer("nope");
    runtime.stopPod("nope");
  }

  @Test
  void removePod_removesItsContainers() throws Exception {
    Pod pod = f.runHostPod("web");
    String id = runtime.createContainer(f.container(pod.id(), "app"));
    runtime.startContainer(id);
    runtime.stopPod(pod.id());
    assertEquals(ContainerView.State.EXITED, runtime.container(id).state());
    runtime.removePod(pod.id());
    assertEquals(List.of(), runtime.containers());
  }

  @Test
  void stats_onlyForRunning() throws Exception {
    String id = started("app");
    assertTrue(runtime.stats(runtime.container(id)).isPresent());
    runtime.stopContainer(id, 0);
    assertTrue(runtime.stats(runtime.container(id)).isEmpty());
    CriContainer c = runtime.container(id).container();
    assertEquals(137, c.exitCode(), "timeout 0: SIGKILL");
  }

  @Test
  void portForward_hostNetworkPod_connectsToLocalhostInTheDaemonsNamespace() throws Exception {
    Pod pod = f.runHostPod("web");
    ForwardRequest forward = runtime.portForward(pod.id(), List.of());
    assertEquals(pod.id(), forward.podId());
    try (ServerSocket listening = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
        SocketChannel c = forward.forwarder().connect(listening.getLocalPort());
        Socket accepted = listening.accept()) {
      assertTrue(c.isConnected() && c.isBlocking());
      c.write(ByteBuffer.wrap(new byte[] {7}));
      assertEquals(7, accepted.getInputStream().read());
    }
    int free;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      free = s.getLocalPort();
    }
    IOException refused = assertThrows(IOException.class, () -> forward.forwarder().connect(free));
    assertTrue(
        refused.getMessage().contains("localhost:" + free + " (host network)")
            && refused.getMessage().contains("listens on port " + free),
        refused.getMessage());

    assertEquals(ErrorCode.NOT_FOUND, code(() -> runtime.portForward("0000nosuch", List.of())));
    runtime.stopPod(pod.id());
    assertEquals(
        ErrorCode.FAILED_PRECONDITION, code(() -> runtime.portForward(pod.id(), List.of())));
  }

  private String started(String name) {
    Pod pod = f.runHostPod("web-" + name);
    String id = runtime.createContainer(f.container(pod.id(), name));
    runtime.startContainer(id);
    return id;
  }

  private List<String> tasksExecFiles(String id) throws Exception {
    try (var files = Files.list(tmp.resolve("containers").resolve(id))) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("exec-")).toList();
    }
  }

  @Test
  void runPod_sameMetadataTwice_failedPreconditionNamingTheFirst_untilItIsRemoved() {
    Pod first = f.runHostPod("web");
    KrillException e = assertThrows(KrillException.class, () -> f.runHostPod("web"));
    assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
    assertTrue(
        e.getMessage().contains("name \"web_default_uid-web_0\" is reserved for \"" + first.id()),
        e.getMessage());
    assertEquals(List.of(first.id()), runtime.pods().stream().map(Pod::id).toList());
    runtime.stopPod(first.id());
    assertEquals(
        ErrorCode.FAILED_PRECONDITION, code(() -> f.runHostPod("web")), "stopped keeps it");
    runtime.removePod(first.id());
    Pod second = f.runHostPod("web");
    assertEquals(List.of(second.id()), runtime.pods().stream().map(Pod::id).toList());
  }

  @Test
  void runPod_nextAttempt_isAnotherName() {
    var r = f.hostPod("web");
    Pod first = runtime.runPod(r);
    Pod next =
        runtime.runPod(
            new PodRequest(
                r.name(), r.uid(), r.namespace(), 1, null, null, true, "", "", "web", null, null));
    assertFalse(first.id().equals(next.id()));
  }

  @Test
  void runPod_failed_releasesTheName() {
    var r = f.hostPod("net");
    var withNetwork =
        new PodRequest(
            r.name(), r.uid(), r.namespace(), 0, null, null, false, "", "", "net", null, null);
    assertEquals(ErrorCode.FAILED_PRECONDITION, code(() -> runtime.runPod(withNetwork)));
    runtime.runPod(r);
  }

  @Test
  void runPod_unknownRuntimeHandler_refusedNamingThePodAndHandlers() {
    var r = f.hostPod("web");
    for (String handler : List.of("", "krill")) {
      Pod p =
          runtime.runPod(
              new PodRequest(
                  r.name() + handler,
                  r.uid(),
                  r.namespace(),
                  0,
                  null,
                  null,
                  true,
                  "",
                  handler,
                  "web",
                  null,
                  null));
      assertEquals(handler, p.runtimeHandler());
    }
    Refused e =
        assertThrows(
            Refused.class,
            () ->
                runtime.runPod(
                    new PodRequest(
                        "other", "u", "default", 0, null, null, true, "", "runc", "o", null,
                        null)));
    assertTrue(
        e.getMessage().contains("default/other")
            && e.getMessage().contains("no runtime for \"runc\" is configured")
            && e.getMessage().contains("\"krill\""),
        e.getMessage());
    assertEquals(2, runtime.pods().size());
  }

  @Test
  void createContainer_sameNameTwiceInAPod_failedPrecondition_freedByRemove() {
    Pod pod = f.runHostPod("web");
    String first = runtime.createContainer(f.container(pod.id(), "app"));
    KrillException e =
        assertThrows(
            KrillException.class, () -> runtime.createContainer(f.container(pod.id(), "app")));
    assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
    assertTrue(
        e.getMessage().contains("container app")
            && e.getMessage()
                .contains("name \"app_web_default_uid-web_0\" is reserved for \"" + first),
        e.getMessage());
    assertEquals(1, runtime.containers().size());
    Pod other = f.runHostPod("db");
    runtime.createContainer(f.container(other.id(), "app"));
    runtime.removeContainer(first.substring(0, 12));
    String again = runtime.createContainer(f.container(pod.id(), "app"));
    assertEquals(again, runtime.containersOf(pod.id()).get(0).container().id());
  }

  @Test
  void createContainer_failed_releasesTheName() {
    Pod pod = f.runHostPod("web");
    var req = f.container(pod.id(), "app");
    var missingImage =
        new NewContainer(
            req.podId(),
            req.name(),
            0,
            "registry.test/other:1",
            List.of(),
            List.of(),
            "",
            List.of(),
            List.of(),
            Map.of(),
            Map.of(),
            "",
            "",
            0,
            false,
            false,
            false,
            null);
    assertEquals(ErrorCode.NOT_FOUND, code(() -> runtime.createContainer(missingImage)));
    runtime.createContainer(req);
  }

  @Test
  void namesOfAnEarlierDaemon_stayReserved() throws Exception {
    Pod pod = f.runHostPod("web");
    String id = runtime.createContainer(f.container(pod.id(), "app"));
    CriRuntime restarted = f.restartedRuntime();
    assertEquals(ErrorCode.FAILED_PRECONDITION, code(() -> restarted.runPod(f.hostPod("web"))));
    KrillException e =
        assertThrows(
            KrillException.class, () -> restarted.createContainer(f.container(pod.id(), "app")));
    assertTrue(e.getMessage().contains(id), e.getMessage());
  }

  @Test
  void createContainer_groupWithoutUser_refused_withUserOrUsername_accepted() {
    Pod pod = f.runHostPod("web");
    Refused e =
        assertThrows(
            Refused.class,
            () ->
                runtime.createContainer(
                    f.container(
                        pod.id(), "app", new ContainerSecurity(null, "", 1000L, "", null))));
    assertTrue(
        e.getMessage().contains("container app")
            && e.getMessage().contains("user group \"1000\" is specified without user"),
        e.getMessage());
    assertEquals(List.of(), runtime.containers());
    runtime.createContainer(
        f.container(pod.id(), "a", new ContainerSecurity(1000L, "", 1000L, "", null)));
    runtime.createContainer(
        f.container(pod.id(), "b", new ContainerSecurity(null, "nobody", 1000L, "", null)));
    runtime.createContainer(
        f.container(pod.id(), "c", new ContainerSecurity(1000L, "", null, "", null)));
  }

  @Test
  void createContainer_seccompProfilePathWithoutLocalhostPrefix_refused() {
    Pod pod = f.runHostPod("web");
    Refused e =
        assertThrows(
            Refused.class,
            () ->
                runtime.createContainer(
                    f.container(
                        pod.id(),
                        "app",
                        new ContainerSecurity(null, "", null, "/etc/seccomp/p.json", null))));
    assertTrue(
        e.getMessage().contains("container app")
            && e.getMessage().contains("invalid profile \"/etc/seccomp/p.json\"")
            && e.getMessage().contains("localhost/"),
        e.getMessage());
    int n = 0;
    for (String ok :
        List.of("", "runtime/default", "docker/default", "unconfined", "localhost/p.json")) {
      runtime.createContainer(
          f.container(pod.id(), "ok" + n++, new ContainerSecurity(null, "", null, ok, null)));
    }
    assertEquals(5, runtime.containers().size());
  }

  @Test
  void createContainer_seccompLocalhostRefWithoutLocalhostType_refused() {
    Pod pod = f.runHostPod("web");
    var refWithDefault =
        new ContainerSecurity(
            null,
            "",
            null,
            "",
            new ContainerSecurity.Seccomp(
                ContainerSecurity.Seccomp.Type.RUNTIME_DEFAULT, "/etc/p.json"));
    Refused e =
        assertThrows(
            Refused.class,
            () -> runtime.createContainer(f.container(pod.id(), "app", refWithDefault)));
    assertTrue(e.getMessage().contains("LocalhostRef must only be set"), e.getMessage());
    runtime.createContainer(
        f.container(
            pod.id(),
            "app",
            new ContainerSecurity(
                null,
                "",
                null,
                "",
                new ContainerSecurity.Seccomp(
                    ContainerSecurity.Seccomp.Type.LOCALHOST, "/etc/p.json"))));
  }

  private static ErrorCode code(Runnable call) {
    return assertThrows(KrillException.class, call::run).code();
  }
}
