package io.krill.runtime;

import io.krill.engine.EngineException;
import io.krill.engine.Guest;
import io.krill.engine.Program;
import io.krill.engine.WasmEngine;
import io.krill.oci.RuntimeSpec;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Create of a container in the instance-per-request shape ({@value RequestServers#ANNOTATION}): its
 * routes read from {@value RequestServers#ROUTES_ANNOTATION} (default {@code /...} to the
 * container's own module), each module found in the rootfs, memory-capped and compiled once, then
 * handed with the listener to the daemon's {@link RequestServers}.
 */
final class RequestRoutes {
  /** The route of every path: what a container without routes serves. */
  static final String ALL = "/...";

  private RequestRoutes() {}

  /** The routes as written, in order, each to a module path; the default when there are none. */
  static Map<String, String> parse(String id, String value, String mainModule) {
    return parse(id, value, mainModule, "annotation " + RequestServers.ROUTES_ANNOTATION);
  }

  /** As {@link #parse(String, String, String)}, the value said to come from {@code source}. */
  static Map<String, String> parse(String id, String value, String mainModule, String source) {
    Map<String, String> routes = new LinkedHashMap<>();
    if (value == null || value.isBlank()) {
      routes.put(ALL, mainModule);
      return routes;
    }
    String form =
        "write it as ROUTE=MODULE[,ROUTE=MODULE...], for example /hello=/hello.wasm,/api/...=/api.wasm";
    for (String item : value.split(",")) {
      String entry = item.trim();
      int eq = entry.indexOf('=');
      String route = eq < 0 ? "" : entry.substring(0, eq).trim();
      String module = eq < 0 ? "" : entry.substring(eq + 1).trim();
      if (!route.startsWith("/") || !module.startsWith("/") || routes.containsKey(route)) {
        throw ModuleLoader.invalid(
            id,
            source
                + " has \""
                + entry
                + "\""
                + (routes.containsKey(route) ? " (a route given twice)" : "")
                + ": "
                + form);
      }
      routes.put(route, module);
    }
    return routes;
  }

  static Guest create(
      String id,
      RuntimeSpec spec,
      String routesSource,
      Path bundle,
      Path rootfs,
      Stdio.Files files,
      ModuleLoader.Found main,
      long limit,
      WasmEngine engine,
      ServerSocketChannel listener,
      RequestServers servers) {
    if (servers == null) {
      throw ModuleLoader.invalid(
          id,
          "annotation "
              + RequestServers.ANNOTATION
              + " asks for an instance per request, which this krill daemon does not serve;"
              + " remove the annotation or run the container on a krill daemon that does");
    }
    Map<String, String> routes =
        parse(
            id,
            spec.annotations().get(RequestServers.ROUTES_ANNOTATION),
            main.modulePath(),
            routesSource);
    Map<String, Program> programs = new LinkedHashMap<>();
    List<RequestService.Route> out = new ArrayList<>();
    try {
      for (Map.Entry<String, String> r : routes.entrySet()) {
        String modulePath = r.getValue();
        Program program = programs.get(modulePath);
        if (program == null) {
          ModuleLoader.Found found =
              modulePath.equals(main.modulePath())
                  ? main
                  : ModuleLoader.find(
                      id,
                      spec.withProcess(
                          new RuntimeSpec.Process(
                              List.of(modulePath), spec.env(), spec.cwd(), false)),
                      rootfs);
          long maxRun = servers.maxRunMillis(id, spec.annotations());
          try {
            program =
                engine.compile(
                    ModuleLoader.guestSpec(id, bundle, files, spec, rootfs, found, limit), maxRun);
          } catch (EngineException e) {
            throw new KrillException(ErrorCode.of(e.kind()), e.getMessage(), e);
          }
          programs.put(modulePath, program);
        }
        out.add(new RequestService.Route(r.getKey(), modulePath, program));
      }
      return servers.serve(
          new RequestService(
              id,
              listener,
              out,
              spec.env(),
              files.stdout(),
              files.stderr(),
              limit,
              spec.annotations()));
    } catch (RuntimeException e) {
      programs.values().forEach(Program::close);
      throw e;
    }
  }
}
