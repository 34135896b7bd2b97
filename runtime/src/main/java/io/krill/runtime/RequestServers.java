package io.krill.runtime;

import io.krill.engine.Guest;
import java.util.Map;

/**
 * What serves containers in the instance-per-request (WAGI) shape: given to {@link TaskManager} by
 * a daemon's composition root ({@link TaskManager#servingRequestsWith}); the core knows no HTTP.
 */
public interface RequestServers {
  /** {@code tcp://HOST:PORT}: krill serves HTTP there, an instance of the module per request. */
  String ANNOTATION = "krill.io/wagi";

  /**
   * {@code ROUTE=MODULE[,ROUTE=MODULE...]}; without it every path goes to the container's module.
   */
  String ROUTES_ANNOTATION = "krill.io/wagi-routes";

  /**
   * How long one request's instance of this container may run (engines stop it by themselves a
   * little after); a malformed setting in its annotations refuses the create, naming it.
   */
  long maxRunMillis(String containerId, Map<String, String> annotations);

  /**
   * The container's guest: {@link Guest#run()} serves until it is interrupted (SIGKILL) or, after
   * {@link Guest#terminateGracefully()} (SIGTERM), has finished what is in flight; it owns the
   * service's listener and programs and closes them.
   */
  Guest serve(RequestService service);
}
