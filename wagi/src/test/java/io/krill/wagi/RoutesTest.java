package io.krill.wagi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.runtime.RequestService;
import java.util.List;
import org.junit.jupiter.api.Test;

class RoutesTest {
  private static RequestService.Route route(String pattern) {
    return new RequestService.Route(pattern, "/m.wasm", null);
  }

  private static final List<RequestService.Route> ROUTES =
      List.of(route("/..."), route("/api/..."), route("/api/v1/..."), route("/hello"));

  private static String where(String path) {
    Routes.Match m = Routes.match(ROUTES, path).orElseThrow();
    return m.route().pattern() + " " + m.scriptName() + " " + m.pathInfo();
  }

  @Test
  void exactThenLongestPrefix() {
    assertEquals("/hello /hello ", where("/hello"));
    assertEquals("/...  /hello/x", where("/hello/x"));
    assertEquals("/api/... /api ", where("/api"));
    assertEquals("/api/... /api /x/y", where("/api/x/y"));
    assertEquals("/api/v1/... /api/v1 /items", where("/api/v1/items"));
    assertEquals("/...  /apix", where("/apix"));
    assertEquals("/...  /", where("/"));
  }

  @Test
  void noWildcardNoMatch() {
    assertTrue(Routes.match(List.of(route("/only")), "/other").isEmpty());
  }
}
