package io.krill.runtime;

import io.krill.engine.Program;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A container in the instance-per-request (WAGI) shape, as {@link TaskManager} hands it to the
 * daemon's {@link RequestServers} at Create: the listening socket (opened in the container's
 * network namespace), its routes, each to a module compiled once, and what every request's instance
 * starts from (the container's environment, its stdout and stderr for the access log and the
 * guests' stderr, its memory cap per instance).
 *
 * @param annotations the container's annotations, for the server's own settings
 */
public record RequestService(
    String containerId,
    ServerSocketChannel listener,
    List<Route> routes,
    List<String> env,
    Path stdout,
    Path stderr,
    long memoryLimitBytes,
    Map<String, String> annotations) {

  /**
   * A route as written in {@value RequestServers#ROUTES_ANNOTATION}: {@code /path} matches that
   * path alone, {@code /path/...} that path and everything below it ({@code /...} every path).
   */
  public record Route(String pattern, String modulePath, Program program) {}

  public RequestService {
    routes = List.copyOf(routes);
    env = List.copyOf(env);
    annotations = Map.copyOf(annotations);
  }
}
