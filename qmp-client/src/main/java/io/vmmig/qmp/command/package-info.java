/** Typed QMP commands ({@link io.vmmig.qmp.command.QmpCommands}) and reply records ({@link io.vmmig.qmp.command.QmpResults}). */
package io.vmmig.qmp.command;
