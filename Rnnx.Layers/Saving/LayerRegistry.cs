using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Metrics;

namespace Rnnx.Saving;

/// <summary>
/// Maps the class names written in model files to factories that re-create layers when a model is loaded. Built-in
/// layers and cells register themselves (each carries <c>[SavedAs]</c> and a <c>FromConfig</c> factory beside its
/// <see cref="Layer.GetConfig"/>). A custom layer or cell (for example the chapter's <c>LNSimpleRNNCell</c>)
/// overrides <see cref="Layer.GetConfig"/> to save its constructor arguments and is registered once, before loading:
/// <code>LayerRegistry.Register("LNSimpleRNNCell", c =&gt; new LNSimpleRNNCell(c.GetInt("units")));</code>
/// Custom activations, losses and metrics are registered by value. Thread-safe.
/// </summary>
public static class LayerRegistry
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, Func<LayerConfig, Layer>> Factories = new(StringComparer.Ordinal);
    private static readonly Dictionary<Type, string> Names = [];
    private static readonly HashSet<string> BuiltIn = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, Activation> Activations = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, Loss> Losses = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, Metric> MetricsByName = new(StringComparer.Ordinal);

    static LayerRegistry()
    {
        foreach (var (type, name, factory) in SavedAsAttribute.BuiltInLayers())
        {
            Factories[name] = factory;
            Names[type] = name;
            BuiltIn.Add(name);
        }
    }

    /// <summary>
    /// Registers (or replaces) the factory of a custom layer or cell type under <paramref name="className"/>, the name
    /// written in model files for layers of type <typeparamref name="T"/>.
    /// </summary>
    /// <typeparam name="T">The layer type.</typeparam>
    /// <param name="className">The saved class name, e.g. <c>LNSimpleRNNCell</c>.</param>
    /// <param name="factory">Creates the layer from its saved config (read with <see cref="LayerConfig.GetInt(string)"/> and friends).</param>
    /// <exception cref="ArgumentException"><paramref name="className"/> is empty or names a built-in layer.</exception>
    public static void Register<T>(string className, Func<LayerConfig, T> factory) where T : Layer
    {
        ArgumentException.ThrowIfNullOrEmpty(className);
        ArgumentNullException.ThrowIfNull(factory);
        lock (Gate)
        {
            if (BuiltIn.Contains(className))
                throw new ArgumentException($"'{className}' is a built-in layer class and cannot be registered again.", nameof(className));
            if (Names.TryGetValue(typeof(T), out var existing) && BuiltIn.Contains(existing))
                throw new ArgumentException($"{typeof(T).Name} is a built-in layer type.", nameof(className));
            Factories[className] = c => factory(c);
            Names[typeof(T)] = className;
        }
    }

    /// <summary>Registers the factory of <typeparamref name="T"/> under its type name.</summary>
    public static void Register<T>(Func<LayerConfig, T> factory) where T : Layer => Register(typeof(T).Name, factory);

    /// <summary>Whether a layer class name can be loaded.</summary>
    public static bool IsRegistered(string className)
    {
        lock (Gate) return Factories.ContainsKey(className);
    }

    /// <summary>Removes a custom registration (built-ins stay). Returns whether it existed.</summary>
    public static bool Unregister(string className)
    {
        lock (Gate)
        {
            if (BuiltIn.Contains(className) || !Factories.Remove(className)) return false;
            foreach (var t in Names.Where(p => p.Value == className).Select(p => p.Key).ToList()) Names.Remove(t);
            return true;
        }
    }

    /// <summary>Registers a custom activation so that layers saved with it can be loaded (matched by <see cref="Activation.Name"/>).</summary>
    /// <exception cref="ArgumentException">The name is a built-in activation's.</exception>
    public static void RegisterActivation(Activation activation)
    {
        ArgumentNullException.ThrowIfNull(activation);
        if (activation.Name is "tanh" or "sigmoid" or "relu" or "linear")
            throw new ArgumentException($"'{activation.Name}' is a built-in activation.", nameof(activation));
        lock (Gate) Activations[activation.Name] = activation;
    }

    /// <summary>Registers a custom loss so that a compiled model saved with it can be loaded compiled (matched by <see cref="Loss.Name"/>).</summary>
    public static void RegisterLoss(Loss loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        lock (Gate) Losses[loss.Name] = loss;
    }

    /// <summary>Registers a custom metric so that a compiled model saved with it can be loaded compiled (matched by <see cref="Metric.Name"/>).</summary>
    public static void RegisterMetric(Metric metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        lock (Gate) MetricsByName[metric.Name] = metric;
    }

    /// <summary>The class name saved for <paramref name="layer"/>: its registered name, else its type name.</summary>
    internal static string ClassNameOf(Layer layer)
    {
        lock (Gate) return Names.TryGetValue(layer.GetType(), out var n) ? n : layer.GetType().Name;
    }

    /// <summary>Creates a layer of a saved class.</summary>
    /// <exception cref="ModelFormatException">Unknown class, or the factory failed.</exception>
    internal static Layer Create(string className, LayerConfig config)
    {
        Func<LayerConfig, Layer>? factory;
        lock (Gate) Factories.TryGetValue(className, out factory);
        if (factory is null)
            throw new ModelFormatException(
                $"{config.Context}: layer class '{className}' is not registered. A custom layer or cell must be registered before loading, " +
                $"e.g. LayerRegistry.Register(\"{className}\", config => new {className}(config.GetInt(\"units\"))), with a matching GetConfig override");
        try
        {
            return factory(config) ?? throw new ModelFormatException($"{config.Context}: the factory of '{className}' returned null");
        }
        catch (ModelFormatException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ModelFormatException($"{config.Context}: cannot create a {className} from the saved config: {e.Message}", inner: e);
        }
    }

    internal static Activation? FindActivation(string name)
    {
        if (name.Length > 0 && Activation.FindBuiltIn(name) is { } builtIn) return builtIn;
        lock (Gate) return Activations.GetValueOrDefault(name);
    }

    internal static Loss? FindLoss(string name)
    {
        lock (Gate)
            if (Losses.TryGetValue(name, out var l)) return l;
        try { return Loss.Get(name); } catch (ArgumentException) { return null; }
    }

    internal static Metric? FindMetric(string name)
    {
        lock (Gate)
            if (MetricsByName.TryGetValue(name, out var m)) return m;
        try { return Metric.Get(name); } catch (ArgumentException) { return null; }
    }
}
