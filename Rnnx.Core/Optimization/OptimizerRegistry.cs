using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace Rnnx.Optimization;

/// <summary>
/// Maps the optimizer class names written in model files (<see cref="OptimizerConfig.ClassName"/>) to factories that
/// re-create the optimizers when a model is loaded. This is how saving, which lives in <c>Rnnx.Layers</c>, creates
/// optimizers without referencing <c>Rnnx.Optimizers</c>: that assembly registers its built-ins (Nadam, Adam, Sgd,
/// RmsProp) here from its module initializer. Thread-safe.
/// </summary>
/// <remarks>
/// <para>A lookup that misses first makes sure the built-in optimizers are registered: it loads the
/// <c>Rnnx.Optimizers</c> assembly by name (into the load context of <c>Rnnx.Core</c>) and runs its module
/// initializer, so loading a model works even when nothing in the process has touched an optimizer type yet. When that
/// assembly is not available (the application does not reference it), only optimizers registered with
/// <see cref="Register"/> can be created.</para>
/// <para>A custom optimizer implements <see cref="ICheckpointableOptimizer"/> and is registered once, before loading:
/// <code>OptimizerRegistry.Register("Lion", c =&gt; new Lion(c.LearningRate, c.GetDouble("beta1")));</code></para>
/// </remarks>
public static class OptimizerRegistry
{
    /// <summary>The assemblies that register built-in optimizers, loaded on demand by name.</summary>
    internal static readonly string[] BuiltInAssemblies = ["Rnnx.Optimizers"];

    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, Func<OptimizerConfig, IOptimizer>> Factories = new(StringComparer.Ordinal);
    private static readonly HashSet<string> BuiltIn = new(StringComparer.Ordinal);
    private static volatile bool _builtInsLoaded;

    /// <summary>
    /// Registers (or replaces) the factory of a custom optimizer under <paramref name="className"/>, the name its
    /// <see cref="ICheckpointableOptimizer.GetConfig"/> writes.
    /// </summary>
    /// <param name="className">The saved class name, for example <c>Lion</c>.</param>
    /// <param name="factory">Creates the optimizer from its saved config (read with <see cref="OptimizerConfig.GetDouble(string)"/> and friends).</param>
    /// <exception cref="ArgumentException"><paramref name="className"/> is empty or names a built-in optimizer.</exception>
    public static void Register(string className, Func<OptimizerConfig, IOptimizer> factory)
    {
        ArgumentException.ThrowIfNullOrEmpty(className);
        ArgumentNullException.ThrowIfNull(factory);
        EnsureBuiltIns();
        lock (Gate)
        {
            if (BuiltIn.Contains(className))
                throw new ArgumentException($"'{className}' is a built-in optimizer class and cannot be registered again.", nameof(className));
            Factories[className] = factory;
        }
    }

    /// <summary>Removes a custom registration (built-ins stay).</summary>
    /// <param name="className">The class name.</param>
    /// <returns>Whether it existed.</returns>
    public static bool Unregister(string className)
    {
        ArgumentException.ThrowIfNullOrEmpty(className);
        lock (Gate) return !BuiltIn.Contains(className) && Factories.Remove(className);
    }

    /// <summary>Whether an optimizer class name can be created (built-in or registered).</summary>
    /// <param name="className">The class name.</param>
    public static bool IsRegistered(string className) => Find(className) is not null;

    /// <summary>Creates an optimizer from its config with the factory registered under <see cref="OptimizerConfig.ClassName"/>.</summary>
    /// <param name="config">The config.</param>
    /// <returns>The new optimizer.</returns>
    /// <exception cref="InvalidOperationException">No factory is registered under the class name (the message says how to fix it).</exception>
    /// <remarks>Whatever the factory throws for a bad config (typically <see cref="ArgumentException"/> or <see cref="FormatException"/>) propagates.</remarks>
    public static IOptimizer Create(OptimizerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var factory = Find(config.ClassName) ?? throw new InvalidOperationException(NotAvailableMessage(config.ClassName));
        return factory(config) ?? throw new InvalidOperationException($"the factory registered for optimizer '{config.ClassName}' returned null.");
    }

    /// <summary>The message for an optimizer class that cannot be created (says how to make it available).</summary>
    /// <param name="className">The class name that was not found.</param>
    public static string NotAvailableMessage(string className) =>
        $"optimizer '{className}' is not available: reference Rnnx.Optimizers or register it with OptimizerRegistry.Register";

    /// <summary>
    /// Registers a built-in optimizer, which <see cref="Register"/> then refuses to replace. Only the built-in optimizer
    /// assemblies (<c>Rnnx.Optimizers</c>, from its module initializer) may call it; use <see cref="Register"/> otherwise.
    /// </summary>
    /// <param name="className">The saved class name, for example <c>Nadam</c>.</param>
    /// <param name="factory">Creates the optimizer from its saved config.</param>
    /// <exception cref="InvalidOperationException">The caller is not a built-in optimizer assembly.</exception>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void RegisterBuiltIn(string className, Func<OptimizerConfig, IOptimizer> factory)
    {
        ArgumentException.ThrowIfNullOrEmpty(className);
        ArgumentNullException.ThrowIfNull(factory);
        string? caller = Assembly.GetCallingAssembly().GetName().Name;
        if (Array.IndexOf(BuiltInAssemblies, caller) < 0)
            throw new InvalidOperationException($"RegisterBuiltIn is reserved for the built-in optimizer assemblies; register '{className}' with OptimizerRegistry.Register.");
        lock (Gate)
        {
            Factories[className] = factory;
            BuiltIn.Add(className);
        }
    }

    private static Func<OptimizerConfig, IOptimizer>? Find(string className)
    {
        ArgumentException.ThrowIfNullOrEmpty(className);
        lock (Gate)
        {
            if (Factories.TryGetValue(className, out var f)) return f;
        }
        if (_builtInsLoaded) return null;
        EnsureBuiltIns();
        lock (Gate) return Factories.GetValueOrDefault(className);
    }

    /// <summary>
    /// Loads the built-in optimizer assemblies by name and runs their module initializers (which call
    /// <see cref="RegisterBuiltIn"/>). Runs once; a missing assembly is skipped. Never called under <see cref="Gate"/>.
    /// </summary>
    private static void EnsureBuiltIns()
    {
        if (_builtInsLoaded) return;
        var context = AssemblyLoadContext.GetLoadContext(typeof(OptimizerRegistry).Assembly) ?? AssemblyLoadContext.Default;
        foreach (string name in BuiltInAssemblies)
        {
            Assembly assembly;
            try
            {
                assembly = context.LoadFromAssemblyName(new AssemblyName(name));
            }
            catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
            {
                continue;   // not deployed with this application: only registered optimizers are available
            }
            RuntimeHelpers.RunModuleConstructor(assembly.ManifestModule.ModuleHandle);
        }
        _builtInsLoaded = true;
    }
}
