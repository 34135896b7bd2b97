package io.krill.wagi;

import io.krill.runtime.RequestService;
import java.util.List;
import java.util.Optional;

/**
 * Which route serves a path, as WAGI matches them: {@code /path} is that path alone, {@code
 * /path/...} that path and everything below it, {@code /...} every path. An exact route wins, else
 * the longest matching prefix.
 */
final class Routes {
  static final String WILDCARD = "/...";

  /**
   * A path's route; {@code scriptName} is the route's fixed part, {@code pathInfo} the rest of the
   * path after it.
   */
  record Match(RequestService.Route route, String scriptName, String pathInfo) {}

  private Routes() {}

  static Optional<Match> match(List<RequestService.Route> routes, String path) {
    for (RequestService.Route r : routes) {
      if (!r.pattern().endsWith(WILDCARD) && r.pattern().equals(path)) {
        return Optional.of(new Match(r, path, ""));
      }
    }
    Match best = null;
    for (RequestService.Route r : routes) {
      String p = r.pattern();
      if (!p.endsWith(WILDCARD)) {
        continue;
      }
      String base = p.substring(0, p.length() - WILDCARD.length());
      boolean matches = path.equals(base) || path.startsWith(base + "/");
      if (matches && (best == null || base.length() > best.scriptName().length())) {
        best = new Match(r, base, path.substring(base.length()));
      }
    }
    return Optional.ofNullable(best);
  }
}
