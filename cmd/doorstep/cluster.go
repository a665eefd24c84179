package main

import (
	"errors"
	"fmt"

	"github.com/doorstep-dev/doorstep/store"
)

// errTwoStores refuses a single Redis and a cluster at once.
var errTwoStores = errors.New("both a Redis server (-redis or REDIS_URL) and a Redis Cluster (-redis-cluster or REDIS_CLUSTER_URL) are given: " +
	"choose one (unset REDIS_URL to run on the cluster, or REDIS_CLUSTER_URL to run on the single server)")

// checkCluster rejects settings that name two stores, or WAIT without a
// Redis that has replicas.
func (c *ServeConfig) checkCluster() error {
	if c.RedisClusterURL != "" && c.RedisURL != "" {
		return errTwoStores
	}
	if c.RedisWaitReplicas < 0 {
		return fmt.Errorf("-redis-wait-replicas %d is negative", c.RedisWaitReplicas)
	}
	if c.RedisWaitReplicas > 0 && c.RedisClusterURL == "" && (c.RedisURL == "" || c.RedisURL == EmbeddedStore) {
		return errors.New("-redis-wait-replicas needs a Redis with replicas (-redis or -redis-cluster); the embedded store has none")
	}
	return nil
}

// storeConfig is the store configuration of a Redis server or cluster.
func (c *ServeConfig) storeConfig() store.Config {
	cfg := store.Config{URL: c.RedisURL, WaitReplicas: c.RedisWaitReplicas, WaitTimeout: c.RedisWaitTimeout}
	if c.RedisClusterURL != "" {
		cfg.URL, cfg.Cluster = c.RedisClusterURL, true
	}
	return cfg
}

// storeName says which store the configuration chooses, for the log.
func (c *ServeConfig) storeName() string {
	if c.RedisClusterURL != "" {
		return "cluster " + storeName(c.RedisClusterURL)
	}
	return storeName(c.RedisURL)
}
