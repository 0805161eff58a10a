using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Rnnx.Optimization;

namespace Rnnx.Optimizers;

/// <summary>Registers the built-in optimizers with <see cref="OptimizerRegistry"/> when this assembly is first used.</summary>
internal static class BuiltInRegistration
{
    /// <summary>
    /// Runs once, before any code of this assembly. <see cref="OptimizerRegistry"/> also runs it explicitly (by loading
    /// this assembly by name) when a model file names an optimizer before any optimizer type was touched.
    /// </summary>
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "Registration must happen without the loader (Rnnx.Layers) referencing this assembly; it only fills a dictionary.")]
    internal static void Register()
    {
        foreach (string name in Optimizer.BuiltInNames) OptimizerRegistry.RegisterBuiltIn(name, Optimizer.FromConfig);
    }
}
