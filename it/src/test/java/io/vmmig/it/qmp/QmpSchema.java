package io.vmmig.it.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * QEMU's introspected schema ({@code query-qmp-schema}) and a checker of command arguments against it: every
 * member name must exist in the argument type (object members, a flat union's base and the variant picked by
 * its tag, alternates, arrays, nested objects), every required member must be present, values must have the
 * declared JSON type and enum values must be known.
 */
final class QmpSchema {
    private final Map<String, JsonNode> types = new HashMap<>();
    private final Map<String, JsonNode> commands = new HashMap<>();

    QmpSchema(JsonNode schema) {
        for (JsonNode e : schema) {
            String meta = e.get("meta-type").asText();
            if (meta.equals("command")) {
                commands.put(e.get("name").asText(), e);
            } else if (!meta.equals("event")) {
                types.put(e.get("name").asText(), e);
            }
        }
    }

    boolean hasCommand(String name) {
        return commands.containsKey(name);
    }

    int commandCount() {
        return commands.size();
    }

    /** Problems with sending {@code command} with {@code arguments} (null = none); empty if it is valid. */
    List<String> check(String command, JsonNode arguments) {
        List<String> errors = new ArrayList<>();
        JsonNode cmd = commands.get(command);
        if (cmd == null) {
            errors.add("no command '" + command + "' in QEMU's schema");
            return errors;
        }
        JsonNode args = arguments == null ? com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode()
                : arguments;
        checkValue(args, cmd.get("arg-type").asText(), command, errors);
        return errors;
    }

    private void checkValue(JsonNode value, String typeName, String path, List<String> errors) {
        JsonNode t = types.get(typeName);
        if (t == null) {
            errors.add(path + ": unknown schema type " + typeName);
            return;
        }
        switch (t.get("meta-type").asText()) {
            case "builtin" -> checkBuiltin(value, t.get("json-type").asText(), path, errors);
            case "enum" -> {
                if (!value.isTextual()) {
                    errors.add(path + ": expected an enum string, got " + value);
                    return;
                }
                boolean known = false;
                for (JsonNode v : t.get("values")) {
                    known |= v.asText().equals(value.asText());
                }
                if (!known) {
                    errors.add(path + ": '" + value.asText() + "' is not one of " + t.get("values"));
                }
            }
            case "array" -> {
                if (!value.isArray()) {
                    errors.add(path + ": expected an array, got " + value);
                    return;
                }
                for (int i = 0; i < value.size(); i++) {
                    checkValue(value.get(i), t.get("element-type").asText(), path + "[" + i + "]", errors);
                }
            }
            case "alternate" -> {
                List<String> all = new ArrayList<>();
                for (JsonNode m : t.get("members")) {
                    List<String> e = new ArrayList<>();
                    checkValue(value, m.get("type").asText(), path, e);
                    if (e.isEmpty()) {
                        return;
                    }
                    all.addAll(e);
                }
                errors.add(path + ": matches no branch of an alternate: " + all);
            }
            case "object" -> checkObject(value, t, path, errors);
            default -> errors.add(path + ": unsupported meta-type " + t.get("meta-type"));
        }
    }

    private void checkObject(JsonNode value, JsonNode type, String path, List<String> errors) {
        if (!value.isObject()) {
            errors.add(path + ": expected an object, got " + value);
            return;
        }
        Map<String, JsonNode> members = new LinkedHashMap<>();
        collectMembers(type, value, members, path, errors);
        for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            JsonNode m = members.get(f.getKey());
            if (m == null) {
                errors.add(path + ": unknown member '" + f.getKey() + "' (known: " + members.keySet() + ")");
            } else {
                checkValue(f.getValue(), m.get("type").asText(), path + "." + f.getKey(), errors);
            }
        }
        for (Map.Entry<String, JsonNode> m : members.entrySet()) {
            if (!m.getValue().has("default") && !value.has(m.getKey())) {
                errors.add(path + ": required member '" + m.getKey() + "' missing");
            }
        }
    }

    /** Own members (which include the base's) plus the members of the variant selected by the tag's value. */
    private void collectMembers(JsonNode type, JsonNode value, Map<String, JsonNode> into, String path,
                                List<String> errors) {
        for (JsonNode m : type.get("members")) {
            into.put(m.get("name").asText(), m);
        }
        if (type.has("variants")) {
            String tag = type.get("tag").asText();
            JsonNode tagValue = value.get(tag);
            if (tagValue == null) {
                return; // reported as a missing required member
            }
            for (JsonNode v : type.get("variants")) {
                if (v.get("case").asText().equals(tagValue.asText())) {
                    collectMembers(types.get(v.get("type").asText()), value, into, path, errors);
                }
            }
        }
    }

    private static void checkBuiltin(JsonNode value, String jsonType, String path, List<String> errors) {
        boolean ok = switch (jsonType) {
            case "string" -> value.isTextual();
            case "int" -> value.isIntegralNumber();
            case "number" -> value.isNumber();
            case "boolean" -> value.isBoolean();
            case "null" -> value.isNull();
            case "value" -> true;
            default -> false;
        };
        if (!ok) {
            errors.add(path + ": expected " + jsonType + ", got " + value);
        }
    }
}
