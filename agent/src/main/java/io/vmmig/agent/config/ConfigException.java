package io.vmmig.agent.config;

/** The agent's configuration file is wrong: the message names the file, the line and what is wrong. */
public final class ConfigException extends Exception {
    public ConfigException(String message) {
        super(message);
    }
}
