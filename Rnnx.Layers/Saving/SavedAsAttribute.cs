using System.Reflection;
using Rnnx.Layers;

namespace Rnnx.Saving;

/// <summary>
/// Marks a built-in layer or cell for saving: <see cref="LayerRegistry"/> finds every type in this assembly that
/// carries it and registers the type's <c>static FromConfig(LayerConfig)</c> method under <see cref="ClassName"/>.
/// The saved name is spelled out rather than taken from the C# type name so that renaming a type cannot change
/// the file format.
/// </summary>
/// <param name="className">The class name written in model files (Keras's <c>class_name</c>).</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
internal sealed class SavedAsAttribute(string className) : Attribute
{
    /// <summary>The class name written in model files.</summary>
    public string ClassName { get; } = className;

    /// <summary>The name of the factory method every marked type declares.</summary>
    public const string FactoryMethod = "FromConfig";

    /// <summary>Every marked layer type of this assembly with its saved name and factory.</summary>
    /// <exception cref="InvalidOperationException">A marked type lacks <c>static FromConfig(LayerConfig)</c> returning a layer.</exception>
    public static IEnumerable<(Type Type, string Name, Func<LayerConfig, Layer> Factory)> BuiltInLayers()
    {
        foreach (var type in typeof(SavedAsAttribute).Assembly.GetTypes())
        {
            if (type.GetCustomAttribute<SavedAsAttribute>() is not { } saved) continue;
            var method = type.GetMethod(FactoryMethod, BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly, [typeof(LayerConfig)]);
            if (method is null || !typeof(Layer).IsAssignableFrom(method.ReturnType) || !typeof(Layer).IsAssignableFrom(type))
                throw new InvalidOperationException($"{type.Name} is marked [SavedAs] but has no static {FactoryMethod}(LayerConfig) returning a layer.");
            yield return (type, saved.ClassName, method.CreateDelegate<Func<LayerConfig, Layer>>());
        }
    }
}
