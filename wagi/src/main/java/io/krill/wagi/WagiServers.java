package io.krill.wagi;

import io.krill.engine.Guest;
import io.krill.runtime.RequestServers;
import io.krill.runtime.RequestService;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The daemon's WAGI servers: one netty event loop group (created with the first WAGI container)
 * does the HTTP of every container; each container's guests run on its own bounded pool ({@link
 * WagiServer}).
 */
public final class WagiServers implements RequestServers, AutoCloseable {
  private final WagiSettings defaults;
  private EventLoopGroup loops;

  public WagiServers(WagiSettings defaults) {
    this.defaults = defaults;
  }

  @Override
  public long maxRunMillis(String containerId, Map<String, String> annotations) {
    return defaults.forContainer(containerId, annotations).timeoutMillis();
  }

  @Override
  public Guest serve(RequestService service) {
    WagiSettings settings = defaults.forContainer(service.containerId(), service.annotations());
    return new WagiServer(service, settings, loops());
  }

  private synchronized EventLoopGroup loops() {
    if (loops == null) {
      loops =
          new MultiThreadIoEventLoopGroup(
              Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())),
              new DefaultThreadFactory("wagi-io", true),
              NioIoHandler.newFactory());
    }
    return loops;
  }

  @Override
  public synchronized void close() {
    if (loops != null) {
      loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }
}
