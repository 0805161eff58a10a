using System.Reflection;
using Rnnx.Layers;
using Rnnx.Saving;

namespace Rnnx.Tests.Saving;

/// <summary>Built-in layers register themselves: a new layer that forgets <c>[SavedAs]</c> fails here, not in a user's load.</summary>
[TestFixture]
public sealed class BuiltInLayerRegistrationTests
{
    private static IEnumerable<Type> PublicLayerTypes() =>
        typeof(Layer).Assembly.GetTypes().Where(t => t.IsPublic && !t.IsAbstract && typeof(Layer).IsAssignableFrom(t));

    [TestCaseSource(nameof(PublicLayerTypes))]
    public void EveryPublicLayerTypeIsSavedUnderItsName(Type type)
    {
        var saved = type.GetCustomAttribute<SavedAsAttribute>();
        Assert.That(saved, Is.Not.Null, $"{type.Name} has no [SavedAs]");
        Assert.That(saved!.ClassName, Is.EqualTo(type.Name));
        Assert.That(LayerRegistry.IsRegistered(saved.ClassName), Is.True);
    }

    [Test]
    public void BuiltInNamesCannotBeTakenByCustomLayers()
    {
        foreach (var (_, name, _) in SavedAsAttribute.BuiltInLayers())
            Assert.Throws<ArgumentException>(() => LayerRegistry.Register(name, c => new Flatten()), name);
    }
}
