package io.krill.shim;

import com.google.protobuf.Any;
import io.krill.containerd.events.TaskCreate;
import io.krill.containerd.events.TaskDelete;
import io.krill.containerd.events.TaskExecAdded;
import io.krill.containerd.events.TaskExecStarted;
import io.krill.containerd.events.TaskExit;
import io.krill.containerd.events.TaskIO;
import io.krill.containerd.events.TaskOOM;
import io.krill.containerd.events.TaskStart;
import io.krill.containerd.services.events.Envelope;
import io.krill.containerd.services.events.ForwardRequest;
import io.krill.runtime.EventSink;
import io.krill.runtime.TaskEvent;
import io.krill.ttrpc.TtrpcClient;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * Sends task events to containerd through {@code Events/Forward} on its ttrpc socket, reconnecting
 * and retrying when containerd is away (e.g. restarting). A subscriber of the core: it is called on
 * the core's one event thread, in order, and sends each event before it returns.
 */
final class EventPublisher implements EventSink, AutoCloseable {
  private static final System.Logger LOG = System.getLogger("krill.events");
  private static final String SERVICE = "containerd.services.events.ttrpc.v1.Events";
  private static final int ATTEMPTS = 10;

  private record Item(String topic, Any event, Instant at, String containerId) {}

  private final Path socket;
  private final String namespace;
  private TtrpcClient client;
  private volatile boolean closing;

  EventPublisher(Path socket, String namespace) {
    this.socket = socket;
    this.namespace = namespace;
  }

  @Override
  public void publish(TaskEvent event) {
    Item item = toItem(event);
    if (socket == null) {
      return;
    }
    send(item);
  }

  private static Item toItem(TaskEvent event) {
    Instant now = Instant.now();
    if (event instanceof TaskEvent.Created c) {
      return new Item(
          "/tasks/create",
          Protos.any(
              TaskCreate.newBuilder()
                  .setContainerId(c.containerId())
                  .setBundle(c.bundle().toString())
                  .addAllRootfs(Protos.mounts(c.rootfs()))
                  .setIo(
                      TaskIO.newBuilder()
                          .setStdin(nz(c.stdin()))
                          .setStdout(nz(c.stdout()))
                          .setStderr(nz(c.stderr()))
                          .setTerminal(c.terminal()))
                  .setPid(c.pid())
                  .build()),
          now,
          c.containerId());
    }
    if (event instanceof TaskEvent.Started s) {
      return new Item(
          "/tasks/start",
          Protos.any(
              TaskStart.newBuilder().setContainerId(s.containerId()).setPid(s.pid()).build()),
          now,
          s.containerId());
    }
    if (event instanceof TaskEvent.ExecAdded a) {
      return new Item(
          "/tasks/exec-added",
          Protos.any(
              TaskExecAdded.newBuilder()
                  .setContainerId(a.containerId())
                  .setExecId(a.execId())
                  .build()),
          now,
          a.containerId());
    }
    if (event instanceof TaskEvent.ExecStarted x) {
      return new Item(
          "/tasks/exec-started",
          Protos.any(
              TaskExecStarted.newBuilder()
                  .setContainerId(x.containerId())
                  .setExecId(x.execId())
                  .setPid(x.pid())
                  .build()),
          now,
          x.containerId());
    }
    if (event instanceof TaskEvent.Exited e) {
      return new Item(
          "/tasks/exit",
          Protos.any(
              TaskExit.newBuilder()
                  .setContainerId(e.containerId())
                  .setId(e.processId())
                  .setPid(e.pid())
                  .setExitStatus(e.status().code())
                  .setExitedAt(Protos.timestamp(e.status().exitedAt()))
                  .build()),
          now,
          e.containerId());
    }
    if (event instanceof TaskEvent.Deleted d) {
      return new Item(
          "/tasks/delete",
          Protos.any(
              TaskDelete.newBuilder()
                  .setContainerId(d.containerId())
                  .setId(d.isExec() ? d.processId() : "")
                  .setPid(d.pid())
                  .setExitStatus(d.status().code())
                  .setExitedAt(Protos.timestamp(d.status().exitedAt()))
                  .build()),
          now,
          d.containerId());
    }
    TaskEvent.OutOfMemory o = (TaskEvent.OutOfMemory) event;
    return new Item(
        "/tasks/oom",
        Protos.any(TaskOOM.newBuilder().setContainerId(o.containerId()).build()),
        now,
        o.containerId());
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }

  private synchronized void send(Item item) {
    byte[] request =
        ForwardRequest.newBuilder()
            .setEnvelope(
                Envelope.newBuilder()
                    .setTimestamp(Protos.timestamp(item.at()))
                    .setNamespace(namespace)
                    .setTopic(item.topic())
                    .setEvent(item.event()))
            .build()
            .toByteArray();
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        if (client == null || client.isClosed()) {
          client = TtrpcClient.connect(socket);
        }
        client
            .call(
                SERVICE,
                "Forward",
                request,
                Duration.ofSeconds(5),
                Map.of("containerd-namespace-ttrpc", namespace))
            .get();
        return;
      } catch (Exception e) {
        if (client != null) {
          client.close();
          client = null;
        }
        if (attempt == ATTEMPTS || closing) {
          LOG.log(
              Level.WARNING,
              "container {0}: event {1} not delivered to containerd after {2} attempts: {3}",
              item.containerId(),
              item.topic(),
              attempt,
              e.getMessage());
          return;
        }
        try {
          Thread.sleep(Math.min(200L * attempt, 1000L));
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  /** Stops retrying (an event being retried gets one more attempt) and closes the connection. */
  @Override
  public void close() {
    closing = true;
    synchronized (this) {
      if (client != null) {
        client.close();
        client = null;
      }
    }
  }
}
