package io.vmmig.testkit;
