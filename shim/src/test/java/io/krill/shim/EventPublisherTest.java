package io.krill.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.containerd.events.TaskCreate;
import io.krill.containerd.events.TaskExit;
import io.krill.containerd.services.events.Envelope;
import io.krill.containerd.services.events.ForwardRequest;
import io.krill.runtime.ExitStatus;
import io.krill.runtime.TaskEvent;
import io.krill.runtime.TaskSpec;
import io.krill.ttrpc.TtrpcServer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class EventPublisherTest {
  /** Only to keep a broken build from hanging; never a performance bound. */
  private static final long PATIENCE_SECONDS = 60;

  @TempDir Path tmp;
  final ExecutorService handlers = Executors.newCachedThreadPool();
  final BlockingQueue<Forwarded> forwarded = new LinkedBlockingQueue<>();
  TtrpcServer containerd;
  EventPublisher publisher;

  /**
   * Stands in for the core's event thread, on which the publisher sends (and retries) each event in
   * turn.
   */
  final ExecutorService eventThread = Executors.newSingleThreadExecutor();

  private void publish(TaskEvent event) {
    eventThread.execute(() -> publisher.publish(event));
  }

  record Forwarded(Envelope envelope, String namespaceHeader) {}

  /** A stand-in for containerd's event service: records every Forward. */
  private TtrpcServer startFakeContainerd(Path socket) throws Exception {
    TtrpcServer s = new TtrpcServer(socket, handlers);
    s.register(
        "containerd.services.events.ttrpc.v1.Events",
        "Forward",
        (ctx, payload) -> {
          forwarded.add(
              new Forwarded(
                  ForwardRequest.parseFrom(payload).getEnvelope(),
                  ctx.firstMetadata("containerd-namespace-ttrpc")));
          return CompletableFuture.completedFuture(new byte[0]);
        });
    s.start();
    return s;
  }

  @AfterEach
  void tearDown() throws Exception {
    if (publisher != null) {
      publisher.close();
    }
    eventThread.shutdown();
    eventThread.awaitTermination(PATIENCE_SECONDS, TimeUnit.SECONDS);
    if (containerd != null) {
      containerd.close();
    }
    handlers.shutdownNow();
    handlers.awaitTermination(PATIENCE_SECONDS, TimeUnit.SECONDS);
  }

  private List<Forwarded> take(int n) throws InterruptedException {
    List<Forwarded> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Forwarded f = forwarded.poll(PATIENCE_SECONDS, TimeUnit.SECONDS);
      assertNotNull(f, "event " + (i + 1) + " of " + n + " never arrived");
      out.add(f);
    }
    return out;
  }

  private static List<TaskEvent> lifecycle(String id) {
    ExitStatus exit = new ExitStatus(3, Instant.ofEpochSecond(1700000000, 123), "Error");
    return List.of(
        new TaskEvent.Created(
            id,
            Path.of("/run/bundles/" + id),
            List.of(new TaskSpec.RootfsMount("overlay", "overlay", List.of("lowerdir=/l"))),
            null,
            "/run/out",
            "/run/err",
            false,
            77),
        new TaskEvent.Started(id, 77),
        new TaskEvent.Exited(id, id, 77, exit),
        new TaskEvent.Deleted(id, id, 77, exit));
  }

  @Test
  void publish_lifecycle_forwardsTopicsInOrderWithBareTypeUrls() throws Exception {
    Path socket = tmp.resolve("containerd.sock.ttrpc");
    containerd = startFakeContainerd(socket);
    publisher = new EventPublisher(socket, "k8s.io");

    lifecycle("c1").forEach(this::publish);
    List<Forwarded> got = take(4);

    assertEquals(
        List.of("/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"),
        got.stream().map(f -> f.envelope().getTopic()).toList());
    assertEquals(
        List.of(
            "containerd.events.TaskCreate",
            "containerd.events.TaskStart",
            "containerd.events.TaskExit",
            "containerd.events.TaskDelete"),
        got.stream().map(f -> f.envelope().getEvent().getTypeUrl()).toList());
    for (Forwarded f : got) {
      assertEquals("k8s.io", f.envelope().getNamespace());
      assertEquals("k8s.io", f.namespaceHeader());
      assertTrue(f.envelope().getTimestamp().getSeconds() > 0, f.envelope().toString());
    }
  }

  @Test
  void publish_exitAndCreate_payloadsCarryTaskFields() throws Exception {
    Path socket = tmp.resolve("containerd.sock.ttrpc");
    containerd = startFakeContainerd(socket);
    publisher = new EventPublisher(socket, "default");

    lifecycle("c1").forEach(this::publish);
    List<Forwarded> got = take(4);

    TaskCreate create = TaskCreate.parseFrom(got.get(0).envelope().getEvent().getValue());
    assertEquals("c1", create.getContainerId());
    assertEquals("/run/bundles/c1", create.getBundle());
    assertEquals("/run/out", create.getIo().getStdout());
    assertEquals("", create.getIo().getStdin());
    assertEquals("overlay", create.getRootfs(0).getType());
    assertEquals(77, create.getPid());
    TaskExit exit = TaskExit.parseFrom(got.get(2).envelope().getEvent().getValue());
    assertEquals("c1", exit.getContainerId());
    assertEquals("c1", exit.getId());
    assertEquals(3, exit.getExitStatus());
    assertEquals(1700000000, exit.getExitedAt().getSeconds());
    assertEquals(123, exit.getExitedAt().getNanos());
  }

  @Test
  void publish_outOfMemory_topicTasksOom() throws Exception {
    Path socket = tmp.resolve("containerd.sock.ttrpc");
    containerd = startFakeContainerd(socket);
    publisher = new EventPublisher(socket, "default");

    publish(new TaskEvent.OutOfMemory("c1"));

    Envelope e = take(1).get(0).envelope();
    assertEquals("/tasks/oom", e.getTopic());
    assertEquals("containerd.events.TaskOOM", e.getEvent().getTypeUrl());
  }

  @Test
  void publish_whileContainerdDown_deliveredInOrderOnceItIsUp() throws Exception {
    Path socket = tmp.resolve("containerd.sock.ttrpc");
    publisher = new EventPublisher(socket, "default");

    lifecycle("c1").forEach(this::publish);
    Thread.sleep(1000);
    containerd = startFakeContainerd(socket);

    assertEquals(
        List.of("/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"),
        take(4).stream().map(f -> f.envelope().getTopic()).toList());
  }

  @Test
  void publish_containerdRestarts_laterEventsStillDelivered() throws Exception {
    Path socket = tmp.resolve("containerd.sock.ttrpc");
    containerd = startFakeContainerd(socket);
    publisher = new EventPublisher(socket, "default");
    List<TaskEvent> events = lifecycle("c1");
    publish(events.get(0));
    take(1);

    containerd.close();
    publish(events.get(1));
    Thread.sleep(500);
    containerd = startFakeContainerd(socket);

    // Delivery is at least once: if the old server went away before its reply to /tasks/create
    // arrived, that event is sent again first.
    String topic = take(1).get(0).envelope().getTopic();
    if (topic.equals("/tasks/create")) {
      topic = take(1).get(0).envelope().getTopic();
    }
    assertEquals("/tasks/start", topic);
  }

  @Test
  void publish_noSocket_dropsEventsQuietly() {
    publisher = new EventPublisher(null, "default");
    lifecycle("c1").forEach(this::publish);
  }
}
