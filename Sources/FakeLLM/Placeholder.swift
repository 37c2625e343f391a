public enum FakeLLMPlaceholder {}
