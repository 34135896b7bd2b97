package io.krill.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Arguments of the {@code krill image} subcommands: positionals, repeatable {@code --name value} options
 * (also {@code -t}/{@code -o} short forms) and flags, in any order.
 */
final class ImageArgs {
  private static final Map<String, String> SHORT = Map.of("-t", "tag", "-o", "output");
  final List<String> positionals = new ArrayList<>();
  private final Map<String, List<String>> values = new HashMap<>();
  private final List<String> flags = new ArrayList<>();

  static ImageArgs parse(List<String> args, Set<String> valueOptions, Set<String> flagOptions) {
    ImageArgs a = new ImageArgs();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String name;
      String value = null;
      if (SHORT.containsKey(arg)) {
        name = SHORT.get(arg);
      } else if (arg.startsWith("--")) {
        name = arg.substring(2);
        int eq = name.indexOf('=');
        if (eq >= 0) {
          value = name.substring(eq + 1);
          name = name.substring(0, eq);
        }
      } else {
        a.positionals.add(arg);
        continue;
      }
      if (flagOptions.contains(name) && value == null) {
        a.flags.add(name);
      } else if (valueOptions.contains(name)) {
        if (value == null) {
          if (i + 1 >= args.size()) {
            throw new IllegalArgumentException("--" + name + " needs a value");
          }
          value = args.get(++i);
        }
        a.values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
      } else {
        throw new IllegalArgumentException("unknown option " + arg);
      }
    }
    return a;
  }

  List<String> all(String name) {
    return values.getOrDefault(name, List.of());
  }

  String one(String name) {
    List<String> v = all(name);
    if (v.size() > 1) {
      throw new IllegalArgumentException("--" + name + " given more than once");
    }
    return v.isEmpty() ? null : v.get(0);
  }

  String required(String name) {
    String v = one(name);
    if (v == null) {
      throw new IllegalArgumentException("--" + name + " is required");
    }
    return v;
  }

  boolean flag(String name) {
    return flags.contains(name);
  }

  /** {@code K=V} values of a repeatable option, in order. */
  Map<String, String> pairs(String name) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String v : all(name)) {
      int eq = v.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("--" + name + " " + v + ": expected KEY=VALUE");
      }
      out.put(v.substring(0, eq), v.substring(eq + 1));
    }
    return out;
  }

  String positional(int i, String what) {
    if (positionals.size() <= i) {
      throw new IllegalArgumentException(what + " is missing");
    }
    return positionals.get(i);
  }
}
