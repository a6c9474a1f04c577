package io.vmmig.agent.cli;

import java.util.List;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code --strategy}: one of {@link #NAMES}, case-insensitive, given to the agent in lower case. */
public final class StrategyConverter implements ITypeConverter<String> {
    /** The strategies the agent knows. */
    public static final List<String> NAMES = List.of("hybrid", "precopy", "mirror", "mirror-wb", "postcopy");

    @Override
    public String convert(String value) {
        String name = value.strip().toLowerCase(Locale.ROOT);
        if (!NAMES.contains(name)) {
            throw new TypeConversionException("unknown strategy '" + value + "': choose one of " + String.join(", ", NAMES));
        }
        return name;
    }
}
