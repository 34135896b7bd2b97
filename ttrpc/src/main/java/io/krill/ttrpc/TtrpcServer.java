package io.krill.ttrpc;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A ttrpc server on a unix socket. Each accepted connection gets its own reader thread; handlers
 * run on the supplied executor so a long call (e.g. a task Wait) never blocks other calls.
 */
public final class TtrpcServer implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(TtrpcServer.class.getName());
  private static final AtomicInteger CONNECTION_IDS = new AtomicInteger();

  private final Path socket;
  private final Executor handlerExecutor;
  private final Map<String, Map<String, Handler>> services = new ConcurrentHashMap<>();
  private final CopyOnWriteArrayList<Runnable> acceptListeners = new CopyOnWriteArrayList<>();
  private final Set<ServerConnection> connections = ConcurrentHashMap.newKeySet();
  private final Object lifecycle = new Object();
  private ServerSocketChannel listener;
  private Thread acceptThread;
  private volatile boolean closed;

  public TtrpcServer(Path socket, Executor handlerExecutor) {
    this.socket = Objects.requireNonNull(socket, "socket");
    this.handlerExecutor = Objects.requireNonNull(handlerExecutor, "handlerExecutor");
  }

  /**
   * May be called before or after {@link #start()}; a later registration replaces an earlier one.
   */
  public void register(String service, String method, Handler handler) {
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(handler, "handler");
    services.computeIfAbsent(service, s -> new ConcurrentHashMap<>()).put(method, handler);
  }

  /** Runs on the accept thread for every new connection; keep it short. */
  public void onAccept(Runnable listener) {
    acceptListeners.add(Objects.requireNonNull(listener, "listener"));
  }

  public void start() throws IOException {
    synchronized (lifecycle) {
      if (closed) {
        throw new IllegalStateException("server closed");
      }
      if (listener != null) {
        throw new IllegalStateException("server already started");
      }
      // A previous process that died without cleanup leaves the file behind, and bind
      // would fail with "address in use" although nobody listens.
      if (Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
        Files.delete(socket);
      }
      ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      try {
        ch.bind(UnixDomainSocketAddress.of(socket));
        restrictPermissions();
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
      listener = ch;
      acceptThread = new Thread(this::acceptLoop, "ttrpc-accept");
      acceptThread.setDaemon(true);
      acceptThread.start();
    }
  }

  public int openConnections() {
    return connections.size();
  }

  /** The path this server listens on. */
  public Path socket() {
    return socket;
  }

  @Override
  public void close() {
    ServerSocketChannel ch;
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
      ch = listener;
    }
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException e) {
        LOG.log(System.Logger.Level.DEBUG, "closing listener", e);
      }
    }
    for (ServerConnection c : connections) {
      c.close();
    }
    if (ch != null) {
      try {
        Files.deleteIfExists(socket);
      } catch (IOException e) {
        LOG.log(System.Logger.Level.WARNING, "cannot delete socket " + socket, e);
      }
    }
  }

  Handler lookup(String service, String method) throws TtrpcException {
    Map<String, Handler> methods = services.get(service);
    if (methods == null) {
      throw new TtrpcException(Code.UNIMPLEMENTED, "service " + service);
    }
    Handler h = methods.get(method);
    if (h == null) {
      throw new TtrpcException(Code.UNIMPLEMENTED, "method " + method);
    }
    return h;
  }

  Executor handlerExecutor() {
    return handlerExecutor;
  }

  void connectionClosed(ServerConnection c) {
    connections.remove(c);
  }

  private void restrictPermissions() {
    try {
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException | IOException e) {
      // Best effort: the socket usually lives in a directory only root can enter anyway.
      LOG.log(System.Logger.Level.DEBUG, "cannot chmod " + socket, e);
    }
  }

  private void acceptLoop() {
    while (!closed) {
      SocketChannel ch;
      try {
        ch = listener.accept();
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        if (closed) {
          return;
        }
        // E.g. out of file descriptors: back off briefly instead of spinning.
        LOG.log(System.Logger.Level.WARNING, "ttrpc accept failed", e);
        sleepQuietly();
        continue;
      }
      ServerConnection conn = new ServerConnection(this, ch, CONNECTION_IDS.incrementAndGet());
      connections.add(conn);
      if (closed) {
        // close() may have iterated the set before we added this one.
        conn.close();
        return;
      }
      for (Runnable l : acceptListeners) {
        try {
          l.run();
        } catch (RuntimeException e) {
          LOG.log(System.Logger.Level.WARNING, "accept listener failed", e);
        }
      }
      conn.start();
    }
  }

  private static void sleepQuietly() {
    try {
      Thread.sleep(50);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
